//! The plan as an Aerleon policy: `.net` and `.svc` definitions and one
//! `.pol` per target.
//!
//! Aerleon has no owner match and no branches. User rules become terms of
//! an OUTPUT filter without the owner; a branch rule becomes the terms of
//! its rule set, each with the branch rule's source added. The details are
//! in `tasks/bench/README.md`.

use std::fmt::Write;

use crate::{Addr, Kind, Plan, Rule, Service};

/// The files of the Aerleon form.
#[derive(Clone, Debug)]
pub struct Aerleon {
    /// `def/NETWORK.net`.
    pub networks: String,
    /// `def/SERVICES.svc`.
    pub services: String,
    /// `iptables/policies/pol/bench.pol`.
    pub iptables: String,
    /// `nftables/policies/pol/bench.pol`.
    pub nftables: String,
}

impl Plan {
    #[must_use]
    pub fn aerleon(&self) -> Aerleon {
        let mut networks = String::new();
        for obj in self.src_objects().chain(self.dst_objects()) {
            let leaves = obj.leaves();
            for (name, addr, len) in &leaves {
                let _ = writeln!(networks, "{name} = {addr}/{len}");
            }
            if obj.is_group() {
                let _ = writeln!(networks, "{} = {}", obj.name(), leaves[0].0);
                for (name, _, _) in &leaves[1..] {
                    let _ = writeln!(networks, "    {name}");
                }
            }
        }
        let mut services = String::new();
        for svc in self.svc_objects() {
            let leaves = svc.leaves();
            for (name, proto, port) in &leaves {
                let _ = writeln!(services, "{name} = {port}/{proto}");
            }
            if leaves.len() > 1 {
                let _ = writeln!(services, "{} = {}", svc.name(), leaves[0].0);
                for (name, _, _) in &leaves[1..] {
                    let _ = writeln!(services, "    {name}");
                }
            }
        }
        // Aerleon's nftables target has no `reject`: there it is `deny`.
        let policy = |fwd: &str, out: &str, reject: bool| {
            let mut forward = String::new();
            let mut output = String::new();
            for r in &self.main {
                match r.kind {
                    Kind::User(_) => term(&mut output, &r.name, r, None, reject),
                    Kind::Branch(j) => {
                        for (k, inner) in self.branches[j].iter().enumerate() {
                            term(&mut forward, &format!("{}k{k}", r.name), inner, r.src, reject);
                        }
                    }
                    _ => term(&mut forward, &r.name, r, None, reject),
                }
            }
            format!(
                "header {{\n  comment:: \"rampart-bench, {} rules: forwarded traffic\"\n  target:: {fwd}\n}}\n\n{forward}\
                 header {{\n  comment:: \"user rules, without the owner match\"\n  target:: {out}\n}}\n\n{output}",
                self.n
            )
        };
        Aerleon {
            networks,
            services,
            iptables: policy("iptables FORWARD DROP", "iptables OUTPUT DROP", true),
            nftables: policy("nftables mixed FORWARD", "nftables mixed OUTPUT", false),
        }
    }
}

/// One term; `src` replaces the rule's (empty) source for an inlined branch.
fn term(o: &mut String, name: &str, r: &Rule, src: Option<Addr>, reject: bool) {
    let _ = writeln!(o, "term {name} {{");
    match (r.kind, src.or(r.src)) {
        (Kind::DenyNot, Some(s)) => {
            let _ = writeln!(o, "  source-exclude:: {}", s.name());
        }
        (_, Some(s)) => {
            let _ = writeln!(o, "  source-address:: {}", s.name());
        }
        (_, None) => {}
    }
    if let Some(d) = r.dst {
        let _ = writeln!(o, "  destination-address:: {}", d.name());
    }
    if let Some(svc) = r.svc {
        let _ = writeln!(o, "  destination-port:: {}", Service::name(svc));
        let _ = writeln!(o, "  protocol:: {}", svc.proto());
    }
    let action = match r.kind {
        Kind::Accept | Kind::User(_) => "accept",
        Kind::Deny | Kind::DenyNot => "deny",
        Kind::Reject if reject => "reject",
        Kind::Reject => "deny",
        Kind::Branch(_) => unreachable!("branches are inlined"),
    };
    let _ = writeln!(o, "  action:: {action}");
    if r.log {
        o.push_str("  logging:: true\n");
    }
    o.push_str("}\n\n");
}
