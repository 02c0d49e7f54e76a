//! Names that leave the policy: a firewall's name becomes a file name
//! (`compile --all -o DIR`), rule set names become chain names and
//! interface names go to the kernel as written, so each must be a name the
//! kernel and iptables take, meaning what it says.

use rampart_diag::Diagnostic;

use crate::{Firewall, diagnostics};

/// The longest chain name iptables takes (`XT_EXTENSION_MAXNAMELEN` - 1).
pub(crate) const MAX_CHAIN: usize = 28;
/// What lowering appends to a rule set's name when the set is entered from
/// several hooks (`_in`, `_fwd`, `_out`).
const HOOK_SUFFIXES: [&str; 3] = ["_in", "_fwd", "_out"];
/// The longest rule set name: its chain name plus the longest suffix fits.
pub(crate) const MAX_RULESET: usize = MAX_CHAIN - 4;
/// The longest interface name the kernel takes (`IFNAMSIZ` - 1).
pub(crate) const MAX_INTERFACE: usize = 15;

/// Chain names iptables reads as something else: the built-in chains of
/// every table, the standard verdicts, and the target extensions (`-j LOG`
/// runs the LOG target even when a chain `LOG` exists; `-N LOG` is
/// refused).
pub const IPTABLES_NAMES: [&str; 47] = [
    "INPUT",
    "FORWARD",
    "OUTPUT",
    "PREROUTING",
    "POSTROUTING",
    "ACCEPT",
    "DROP",
    "QUEUE",
    "RETURN",
    "AUDIT",
    "CHECKSUM",
    "CLASSIFY",
    "CLUSTERIP",
    "CONNMARK",
    "CONNSECMARK",
    "CT",
    "DNAT",
    "DNPT",
    "DSCP",
    "ECN",
    "HL",
    "HMARK",
    "IDLETIMER",
    "LED",
    "LOG",
    "MARK",
    "MASQUERADE",
    "NETMAP",
    "NFLOG",
    "NFQUEUE",
    "NOTRACK",
    "RATEEST",
    "REDIRECT",
    "REJECT",
    "SECMARK",
    "SET",
    "SNAT",
    "SNPT",
    "SYNPROXY",
    "TCPMSS",
    "TCPOPTSTRIP",
    "TEE",
    "TOS",
    "TPROXY",
    "TRACE",
    "TTL",
    "ULOG",
];

/// Letters, digits, `_`, `-` and `.`, not starting with `.` or `-`:
/// never a path, never `..`, never an option.
fn file_safe(name: &str) -> bool {
    name.len() <= 64
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
}

/// Chains lowering and deploy make themselves: `R<n>_...` (negations),
/// `RULE_<n>...` (logging) and `rampart-...` (the hooked chains).
fn rampart_chain(name: &str) -> bool {
    let numbered = |rest: Option<&str>| {
        rest.is_some_and(|r| r.as_bytes().first().is_some_and(u8::is_ascii_digit))
    };
    name.starts_with("rampart-")
        || numbered(name.strip_prefix("RULE_"))
        || (numbered(name.strip_prefix('R'))
            && name[1..].trim_start_matches(|c: char| c.is_ascii_digit()).starts_with('_'))
}

pub(crate) fn check(fw: &Firewall, diags: &mut Vec<Diagnostic>) {
    if !file_safe(&fw.name) {
        diags.push(diagnostics::bad_name(
            "firewall",
            &fw.name,
            fw.span,
            "it names the compiled files: up to 64 letters, digits, `_`, `-` and `.`, \
             starting with a letter, digit or `_`",
        ));
    }
    for rs in fw.rulesets.iter().filter(|r| r.name != "main") {
        let name = rs.name.as_str();
        if IPTABLES_NAMES.contains(&name) {
            diags.push(diagnostics::ruleset_is_iptables_name(name, rs.span));
        } else if !name.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
            diags.push(diagnostics::ruleset_first_character(name, rs.span));
        } else if name.len() > MAX_RULESET {
            diags.push(diagnostics::ruleset_too_long(name, rs.span, MAX_RULESET));
        } else if rampart_chain(name) {
            diags.push(diagnostics::ruleset_is_rampart_chain(name, rs.span, None));
        } else if let Some(other) = fw.rulesets.iter().find(|o| {
            o.name != "main" && HOOK_SUFFIXES.iter().any(|s| name == format!("{}{s}", o.name))
        }) {
            diags.push(diagnostics::ruleset_is_rampart_chain(name, rs.span, Some(&other.name)));
        }
    }
    let ports = fw.bridges.iter().flat_map(|b| b.ports.iter().map(|p| (&p.name, p.span)));
    let bridges = fw.bridges.iter().map(|b| (&b.name, b.span));
    for (name, span) in fw.interfaces.iter().map(|i| (&i.name, i.span)).chain(bridges).chain(ports)
    {
        if let Some(why) = bad_interface(name) {
            diags.push(diagnostics::bad_interface_name(name, span, why));
        }
    }
}

/// Why the kernel would never give an interface this name (as its
/// `dev_valid_name` and `ip link` decide), if it would not.
fn bad_interface(name: &str) -> Option<&'static str> {
    let bare = name.strip_suffix('+').unwrap_or(name);
    if name.len() > MAX_INTERFACE {
        Some("interface names are at most 15 bytes (IFNAMSIZ - 1)")
    } else if bare == "." || bare == ".." {
        Some("`.` and `..` are not interface names")
    } else if name.bytes().any(|b| b"/:%".contains(&b) || b.is_ascii_whitespace()) {
        Some("interface names have no `/`, `:`, `%` or white space")
    } else {
        None
    }
}
