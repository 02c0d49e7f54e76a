//! A lab's probes answered without root or kernel: routing from the lab
//! description, the layer-2 path as in a running lab ([`crate::path`]),
//! and every crossing of the firewall decided by `rampart trace` on the
//! ruleset read back from its own `iptables-restore` text. The kernel lab
//! stays the proof; this is the fast check on every commit.

use std::net::IpAddr;

use rampart_ir::Family;
use rampart_trace::Tracer;

use crate::describe::{Lab, Node, ProbeKind};
use crate::netns::LabError;
use crate::path::Router;
use crate::run::{ProbeReport, Report, Rules, combine, predict_probe, problems, read_tables};
use crate::topology::RouteHop;

/// Routing as the lab's namespaces would do it: the node's own
/// addresses are local, then the longest prefix among its connected
/// networks and its `route`/`gateway` lines.
struct Described<'a>(&'a Lab);

impl Router for Described<'_> {
    fn route(&self, node: &str, dst: IpAddr) -> Result<RouteHop, LabError> {
        let n = self.0.node(node).ok_or_else(|| unroutable(node, dst))?;
        if n.owns(dst) {
            return Ok(RouteHop { dev: "lo".into(), via: None, src: Some(dst), local: true });
        }
        let mut best: Option<(u8, RouteHop)> = None;
        let mut offer = |len: u8, hop: RouteHop| {
            if best.as_ref().is_none_or(|(l, _)| len > *l) {
                best = Some((len, hop));
            }
        };
        for i in &n.interfaces {
            for a in i.addrs.iter().filter(|a| a.trunc().contains(&dst)) {
                offer(
                    a.prefix_len(),
                    RouteHop { dev: i.name.clone(), via: None, src: Some(a.addr()), local: false },
                );
            }
        }
        for r in &n.routes {
            let len = if r.to == "default" {
                Some(0)
            } else {
                r.to.parse::<ipnet::IpNet>()
                    .ok()
                    .filter(|net| net.contains(&dst))
                    .map(|net| net.prefix_len())
            };
            if let (Some(len), Some((dev, src))) = (len, connected(n, r.via))
                && r.via.is_ipv6() == dst.is_ipv6()
            {
                offer(len, RouteHop { dev, via: Some(r.via), src: Some(src), local: false });
            }
        }
        best.map(|(_, hop)| hop).ok_or_else(|| unroutable(node, dst))
    }
}

/// The interface (and its address) whose network holds `gw`.
fn connected(n: &Node, gw: IpAddr) -> Option<(String, IpAddr)> {
    n.interfaces.iter().find_map(|i| {
        i.addrs.iter().find(|a| a.trunc().contains(&gw)).map(|a| (i.name.clone(), a.addr()))
    })
}

fn unroutable(node: &str, dst: IpAddr) -> LabError {
    LabError::Unroutable { node: node.to_owned(), dst }
}

/// Answers every probe of the lab with trace alone. `seen` is trace's
/// outcome, the counters are the rules on trace's path, the log lines
/// the prefixes it prints; a probe trace cannot decide fails.
pub fn run(lab: &Lab, rules: &Rules) -> Result<Report, LabError> {
    let v4 = Tracer::new(&read_tables(&rules.v4, "IPv4 rules")?);
    let v6 = match &rules.v6 {
        Some(t) => Some(Tracer::new(&read_tables(t, "IPv6 rules")?)),
        None => None,
    };
    let pick = |f: Family| match (f, &v6) {
        (Family::V6, Some(c)) => c,
        _ => &v4,
    };
    let router = Described(lab);
    let mut probes = Vec::new();
    for (i, p) in lab.probes.iter().enumerate() {
        let dst = lab.target_addr(&p.to).expect("checked target");
        let sport = (p.kind != ProbeKind::Ping).then(|| u16::try_from(40000 + i).unwrap_or(40000));
        let (src, predicted) = predict_probe(lab, &router, pick, p, dst, sport)?;
        let (pred, deciding) = combine(&predicted);
        let counters: Vec<_> = predicted.iter().flat_map(|c| c.matched.clone()).collect();
        let logs: Vec<String> = predicted.iter().flat_map(|c| c.logs.clone()).collect();
        let mut problems = match pred.outcome() {
            Some(o) => problems(p, o, &counters, &logs, "trace"),
            None => vec![format!("trace cannot decide: {}", deciding.clone().unwrap_or_default())],
        };
        if src.is_none() {
            problems.push(format!("{} has no route to {dst}", p.from));
        }
        probes.push(ProbeReport {
            line: p.line,
            probe: p.text.clone(),
            from: p.from.clone(),
            src,
            dst,
            sport,
            mitm: p.mitm.as_ref().map(|(m, _)| m.clone()),
            expected: p.expect,
            seen: pred,
            detail: "answered offline by trace".into(),
            predicted: pred,
            deciding,
            crossings: predicted,
            logs,
            counters,
            problems,
            trace_agrees: true,
        });
    }
    Ok(Report::of(lab, "offline".into(), probes))
}

#[cfg(test)]
mod tests {
    use rampart_diag::Sources;

    use super::*;

    fn lab(text: &str) -> Lab {
        let mut sources = Sources::new();
        let file = sources.add("t.lab", text.to_owned());
        let parsed = crate::parse(std::path::Path::new("t.lab"), text, file);
        parsed.lab.expect("lab parses")
    }

    #[test]
    fn routes_by_the_longest_prefix() {
        let l = lab(
            "lab t\nfirewall fw { rules \"r\"\n interface a 10.0.0.1/24\n interface b 10.9.0.1/24\n route 10.5.0.0/16 via 10.9.0.2\n gateway 10.0.0.2 }\n",
        );
        let r = Described(&l);
        let hop = |d: &str| r.route("fw", d.parse().unwrap()).unwrap();
        assert_eq!(hop("10.5.1.1").dev, "b");
        assert_eq!(hop("10.5.1.1").via, Some("10.9.0.2".parse().unwrap()));
        assert_eq!(hop("8.8.8.8").dev, "a");
        assert_eq!(hop("10.9.0.7").via, None);
        assert_eq!(hop("10.9.0.7").src, Some("10.9.0.1".parse().unwrap()));
        assert!(hop("10.0.0.1").local);
    }
}
