//! `rampart report`: one firewall as a self-contained HTML page a person
//! reads — interfaces, objects (and the rules that use each), rule sets
//! in rule order, the reachability matrix, the spoofing check, anomalies,
//! expectations and the trace of each expectation's packet. No network,
//! no external scripts or fonts: it opens from a mail or a wiki.
//!
//! The data is gathered in [`view`]; the page is `templates/report.html`
//! (askama, escaped).

mod view;

use askama::Template;
use rampart_diag::Sources;
use rampart_lower::Compiled;
use rampart_model::Firewall;

pub use view::{Counted, Extras, LabProbe, LabSection, Logged, Page};

/// The report of `fw` (compiled as `compiled`), whose policy `sources`
/// hold; `policy` names it in the title; `extras`, the optional sections.
pub fn render(
    policy: &str,
    fw: &Firewall,
    compiled: &Compiled,
    sources: &Sources,
    extras: Extras,
) -> Result<String, askama::Error> {
    view::page(policy, fw, compiled, sources, extras).render()
}
