//! The plan in Rampart's policy language.

use std::fmt::Write;

use crate::{Addr, Kind, Plan, Rule};

impl Plan {
    /// The policy as one `.rp` file with firewall `fw`.
    #[must_use]
    pub fn rampart(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# rampart-bench: {} rules", self.n);
        for obj in self.src_objects().chain(self.dst_objects()) {
            let leaves = obj.leaves();
            for (name, addr, len) in &leaves {
                match len {
                    32 => writeln!(out, "host {name} {addr}"),
                    _ => writeln!(out, "network {name} {addr}/{len}"),
                }
                .ok();
            }
            if obj.is_group() {
                let names: Vec<_> = leaves.iter().map(|l| l.0.as_str()).collect();
                let _ = writeln!(out, "group {} {{ {} }}", obj.name(), names.join(", "));
            }
        }
        for svc in self.svc_objects() {
            let leaves = svc.leaves();
            for (name, proto, port) in &leaves {
                let _ = writeln!(out, "service {name} {proto} {port}");
            }
            if leaves.len() > 1 {
                let names: Vec<_> = leaves.iter().map(|l| l.0.as_str()).collect();
                let _ = writeln!(out, "group {} {{ {} }}", svc.name(), names.join(", "));
            }
        }
        for a in 0..self.users {
            let _ = writeln!(out, "user u{a} uid {}", 2000 + a);
        }
        out.push_str(
            "\nfirewall fw {\n  interface eth0 192.168.1.1/24\n  interface eth1 192.168.2.1/24\n  \
             interface lo loopback\n  forward on\n  default deny-quiet\n\n  ruleset main {\n",
        );
        for r in &self.main {
            rule(&mut out, r);
        }
        out.push_str("  }\n");
        for (j, rules) in self.branches.iter().enumerate() {
            let _ = writeln!(out, "\n  ruleset br{j} {{");
            for r in rules {
                rule(&mut out, r);
            }
            out.push_str("  }\n");
        }
        out.push_str("}\n");
        out
    }
}

fn rule(out: &mut String, r: &Rule) {
    let addr = |a: Option<Addr>| a.map(Addr::name);
    let action = match r.kind {
        Kind::Accept | Kind::User(_) => "accept".to_owned(),
        Kind::Deny | Kind::DenyNot => "deny".to_owned(),
        Kind::Reject => "reject".to_owned(),
        Kind::Branch(j) => format!("branch br{j}"),
    };
    let _ = write!(out, "    {action}");
    if let Kind::User(_) = r.kind {
        out.push_str(" from self");
    }
    if let Some(src) = addr(r.src) {
        let not = if r.kind == Kind::DenyNot { "not " } else { "" };
        let _ = write!(out, " from {not}{src}");
    }
    if let Some(dst) = addr(r.dst) {
        let _ = write!(out, " to {dst}");
    }
    if let Some(svc) = r.svc {
        let _ = write!(out, " service {}", svc.name());
    }
    if let Kind::User(u) = r.kind {
        let _ = write!(out, " out user u{u}");
    }
    if r.log {
        out.push_str(" log");
    }
    let _ = writeln!(out, " comment \"{}\"", r.name);
}
