//! Checks of a parsed lab: names resolve, interfaces exist, each interface
//! is used by one link, users are known.

use std::collections::BTreeMap;

use rampart_diag::{Diagnostic, Span};

use crate::describe::{Endpoint, Lab, Target};
use crate::diagnostics as d;

pub(crate) fn check(lab: &mut Lab, diags: &mut Vec<Diagnostic>) {
    let mut nodes: BTreeMap<&str, Span> = BTreeMap::new();
    for n in std::iter::once(&lab.firewall).chain(&lab.hosts) {
        if let Some(first) = nodes.insert(&n.name, n.span) {
            diags.push(d::duplicate("node", &n.name, n.span, first));
            nodes.insert(&n.name, first);
        }
        let mut ifaces: BTreeMap<&str, Span> = BTreeMap::new();
        for i in &n.interfaces {
            if let Some(first) = ifaces.insert(&i.name, i.span) {
                diags.push(d::duplicate("interface", &i.name, i.span, first));
            }
        }
    }
    // Names in the firewall's namespace: its interfaces, bridges, ports.
    let mut fw_names: BTreeMap<&str, Span> = BTreeMap::new();
    let bridge_names: Vec<&str> = lab.bridges.iter().map(|b| b.name.as_str()).collect();
    for i in &lab.firewall.interfaces {
        fw_names.insert(&i.name, i.span);
    }
    for b in &lab.bridges {
        if nodes.contains_key(b.name.as_str()) {
            diags.push(d::duplicate("name", &b.name, b.span, nodes[b.name.as_str()]));
        }
        // The firewall may put its address on the bridge device itself.
        if let Some(&first) = fw_names.get(b.name.as_str())
            && lab.firewall.interface(&b.name).is_none()
        {
            diags.push(d::duplicate("interface", &b.name, b.span, first));
        }
        fw_names.insert(&b.name, b.span);
    }
    let mut used: BTreeMap<(String, String), Span> = BTreeMap::new();
    let mut use_end = |e: &Endpoint, diags: &mut Vec<Diagnostic>| {
        if let Some(&first) = used.get(&(e.node.clone(), e.iface.clone())) {
            diags.push(d::endpoint_reused(e.span, first));
        } else {
            used.insert((e.node.clone(), e.iface.clone()), e.span);
        }
    };
    for b in &lab.bridges {
        for p in &b.ports {
            let end = Endpoint {
                node: lab.firewall.name.clone(),
                iface: p.name.clone(),
                span: p.peer.span,
            };
            if let Some(&first) = fw_names.get(p.name.as_str()) {
                diags.push(d::duplicate("interface", &p.name, p.peer.span, first));
            }
            fw_names.insert(&p.name, p.peer.span);
            use_end(&end, diags);
            if bridge_names.contains(&p.peer.node.as_str()) {
                // A link between two bridges: the peer port is created here.
                if let Some(&first) = fw_names.get(p.peer.iface.as_str()) {
                    diags.push(d::duplicate("interface", &p.peer.iface, p.peer.span, first));
                }
                fw_names.insert(&p.peer.iface, p.peer.span);
                let end = Endpoint {
                    node: lab.firewall.name.clone(),
                    iface: p.peer.iface.clone(),
                    span: p.peer.span,
                };
                use_end(&end, diags);
            } else {
                check_end(lab, &p.peer, diags);
                use_end(&p.peer, diags);
            }
        }
    }
    for l in &lab.links {
        for e in [&l.a, &l.b] {
            if bridge_names.contains(&e.node.as_str()) {
                diags.push(
                    d::unknown_node(&e.node, e.span)
                        .with_help("link a bridge with `port NAME PEER` inside its block"),
                );
                continue;
            }
            check_end(lab, e, diags);
            use_end(e, diags);
        }
    }
    let fw = lab.firewall.name.clone();
    for i in 0..lab.probes.len() {
        let pr = &lab.probes[i];
        let Some(from) = lab.node(&pr.from) else {
            diags.push(d::unknown_node(&pr.from, pr.from_span));
            continue;
        };
        let mut uid = pr.uid;
        if let Some((u, span)) = &pr.user {
            let users = from.users.iter().chain(if from.name == fw {
                &[][..]
            } else {
                &lab.firewall.users[..]
            });
            match users.clone().find(|x| &x.name == u) {
                Some(x) => uid = Some(x.uid),
                None => diags.push(d::unknown_user(u, *span, &from.name)),
            }
        }
        if let Target::Node(n, span) = &pr.to {
            match lab.node(n) {
                None => diags.push(d::unknown_node(n, *span)),
                Some(node) if node.first_addr().is_none() => diags.push(d::no_address(n, *span)),
                Some(_) => {}
            }
        }
        if let Some((m, span)) = &pr.mitm {
            if lab.node(m).is_none() {
                diags.push(d::unknown_node(m, *span));
            } else if *m == pr.from {
                diags.push(d::bad_mitm(*span));
            }
        }
        lab.probes[i].uid = uid;
    }
}

fn check_end(lab: &Lab, e: &Endpoint, diags: &mut Vec<Diagnostic>) {
    match lab.node(&e.node) {
        None => diags.push(d::unknown_node(&e.node, e.span)),
        Some(n) if n.interface(&e.iface).is_none() => {
            diags.push(d::unknown_interface(&e.node, &e.iface, e.span));
        }
        Some(_) => {}
    }
}
