//! Rampart's rules in chains of its own. The rules of a built-in chain go
//! to `rampart-<CHAIN>`, hooked into the built-in chain by one jump; the
//! built-in chain keeps Rampart's policy and every rule other software
//! (Docker, libvirt, fail2ban) puts there, in place and in order.

use rampart_ir::{Family, Restricted, Table, format_rule};

/// The chain holding Rampart's rules of built-in chain `builtin`.
#[must_use]
pub fn own_chain(builtin: &str) -> String {
    format!("rampart-{builtin}")
}

/// The jump that hooks [`own_chain`] into `builtin`, as iptables-save
/// prints it.
#[must_use]
pub fn hook_rule(builtin: &str) -> String {
    format!("-A {builtin} -j {}", own_chain(builtin))
}

/// Rampart's part of one table: the built-in chains' policies, its own
/// chains with their `-A` lines, and the built-in chains it hooks into.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Owned {
    pub table: Table,
    pub policies: Vec<(String, &'static str)>,
    pub chains: Vec<(String, Vec<String>)>,
    pub hooks: Vec<String>,
}

/// One table of `rs`, hooked.
#[must_use]
pub fn owned(rs: &Restricted, family: Family, table: Table) -> Owned {
    let mut o = Owned { table, ..Owned::default() };
    for c in rs.table(table) {
        let name = match c.policy() {
            Some(policy) => {
                let policy = match policy {
                    rampart_ir::Policy::Accept => "ACCEPT",
                    rampart_ir::Policy::Drop => "DROP",
                };
                o.policies.push((c.name.clone(), policy));
                o.hooks.push(c.name.clone());
                own_chain(&c.name)
            }
            None => c.name.clone(),
        };
        let rules = c.rules.iter().map(|r| format!("-A {name} {}", format_rule(rs, r, family)));
        let rules = rules.collect();
        o.chains.push((name, rules));
    }
    o
}
