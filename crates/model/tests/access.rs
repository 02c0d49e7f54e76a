//! The `access` declaration and time windows on rules.

use rampart_diag::Sources;
use rampart_ir::TimeMatch;
use rampart_model::load_str;

const BASE: &str = "user me uid 1021\nuser bro uid 1022\nhost srv 10.0.0.2\n\
                    service all tcp 20001-20010\n\
                    firewall lap {\n interface eth0 10.0.0.1/24\n ruleset main {\n  \
                    accept to srv user me days mon, tue time 08:00-18:00 out\n }\n}\n";

fn codes(extra: &str) -> Vec<&'static str> {
    let mut sources = Sources::new();
    let loaded = load_str("t.rp", &format!("{BASE}{extra}"), &mut sources);
    loaded.diagnostics.iter().map(|d| d.code).collect()
}

#[test]
fn grants_resolve_users_hosts_and_windows() {
    let mut sources = Sources::new();
    let src = format!(
        "{BASE}access spice for lap {{\n viewer \"/opt/rv\"\n group vgrp\n password no\n \
         consoles all\n user me to srv port 20002 days mon time 08:00-09:00\n \
         user bro to 10.0.0.2 port 20004\n}}\n"
    );
    let loaded = load_str("t.rp", &src, &mut sources);
    assert!(!loaded.has_errors(), "{:?}", loaded.diagnostics);
    let m = loaded.model.unwrap();
    let a = &m.accesses[0];
    assert_eq!((a.viewer.as_str(), a.group.as_str(), a.password), ("/opt/rv", "vgrp", false));
    assert_eq!(a.consoles, vec![(20001, 20010)]);
    assert_eq!(a.grants[0].user.uid, 1021);
    assert_eq!(a.grants[0].host, "srv");
    assert_eq!(
        a.grants[0].time,
        Some(TimeMatch { start: Some(480), stop: Some(539), weekdays: 1 })
    );
    assert_eq!(a.grants[1].host, "10.0.0.2");
    assert_eq!(a.grants[1].time, None);
    let rule = &m.firewalls[0].rulesets[0].rules[0];
    assert_eq!(rule.time, Some(TimeMatch { start: Some(480), stop: Some(1079), weekdays: 3 }));
}

#[test]
fn defaults() {
    let mut sources = Sources::new();
    let loaded = load_str(
        "t.rp",
        &format!("{BASE}access s for lap {{\n user me to srv port 20002\n}}\n"),
        &mut sources,
    );
    let a = &loaded.model.unwrap().accesses[0];
    assert_eq!(
        (a.viewer.as_str(), a.group.as_str(), a.password),
        ("/usr/bin/remote-viewer", "spicegrp", true)
    );
    assert_eq!(a.console_ports(), vec![(20002, 20002)]);
}

#[test]
fn errors() {
    assert_eq!(codes("access s for nolap {\n user me to srv port 20002\n}\n"), vec!["E0201"]);
    assert_eq!(
        codes("access s for lap {\n user me to srv port 20002\n user me to srv port 20004\n}\n"),
        vec!["E0243"]
    );
    assert_eq!(
        codes("access s for lap {\n consoles all\n user me to srv port 30000\n}\n"),
        vec!["E0244"]
    );
    assert_eq!(
        codes("access s for lap {\n viewer \"rv\"\n group Bad\n password maybe\n user me srv\n}\n"),
        vec!["E0242", "E0242", "E0242", "E0242", "E0242"]
    );
    assert_eq!(
        codes("access s for lap {\n user me, nobody, all to srv port 70000\n}\n"),
        vec!["E0242", "E0206"]
    );
    assert_eq!(
        codes("access s for lap {\n user me, nobody, all to srv port 20002 days fun time 9-5\n}\n"),
        vec!["E0201", "E0214", "E0240", "E0241"]
    );
    assert_eq!(codes("access s for lap {\n}\n"), vec!["E0242"]);
}

#[test]
fn sudoers_keywords_are_not_user_names() {
    for name in ["ALL", "%sudo", "+net", "Admin", "%:admins"] {
        let mut sources = Sources::new();
        let src = format!(
            "user {name} uid 1030\n{BASE}access s for lap {{\n user {name} to srv port 20002\n}}\n"
        );
        let loaded = load_str("t.rp", &src, &mut sources);
        let d = loaded
            .diagnostics
            .iter()
            .find(|d| d.labels[0].message.contains("login name"))
            .unwrap_or_else(|| panic!("{name} accepted: {:?}", loaded.diagnostics));
        assert_eq!(d.code, "E0242", "{name}");
        assert_eq!(sources.slice(d.labels[0].span), name);
    }
}
