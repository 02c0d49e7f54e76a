//! Shared by the kernel tests that start from a policy's text.

use rampart_diag::Sources;
use rampart_lower::Compiled;
use rampart_model::Firewall;

/// The first firewall of the policy `text` (read as file `name`, which must
/// check without errors), compiled for every backend.
pub fn compile(name: &str, text: &str) -> (Firewall, Compiled) {
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str(name, text, &mut sources);
    assert!(!loaded.has_errors(), "{}", rampart_diag::render(&loaded.diagnostics, &sources, false));
    let fw = loaded.model.unwrap().firewalls.remove(0);
    let c = rampart_lower::compile(&fw);
    (fw, c)
}
