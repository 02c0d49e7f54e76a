//! The generated files, snapshot, and each sudoers fragment accepted by
//! the real visudo.

mod common;

use common::{SPICE, kit, visudo_ok};

/// Two users with windows, one group of two users sharing a console, no password.
const WINDOWS: &str = "\
user ann uid 2001\nuser bob uid 2002\nuser cy uid 2003\nhost vm1 10.1.0.10\nhost vm2 10.1.0.11\n\
service consoles tcp 5900-5999\nservice vm1-console tcp 5901\nservice vm2-console tcp 5902\n\
firewall desk {\n interface eth0 10.1.0.50/24\n ruleset main {\n  \
accept to vm1 service vm1-console user ann days mon, tue time 08:00-18:00 out\n  \
accept to vm2 service vm2-console user bob, cy days wed-thu out\n  \
deny service consoles log\n }\n}\n\
access desk-vms for desk {\n viewer \"/opt/viewer/bin/remote-viewer\"\n group vmview\n password no\n \
consoles consoles\n user ann to vm1 port 5901 days mon, tue time 08:00-18:00\n \
user bob, cy to 10.1.0.11 port 5902 days wed-thu\n}\n";

#[test]
fn spice_example_kit() {
    let k = kit(SPICE);
    insta::assert_snapshot!("spice_sudoers", k.sudoers);
    insta::assert_snapshot!("spice_launcher", k.launcher);
    insta::assert_snapshot!("spice_service", k.service);
    insta::assert_snapshot!("spice_timer", k.timer);
    visudo_ok(&k.sudoers, &rampart_testing::tempdir("spice"), "rampart-spice");
    assert!(rampart_access::check::check(&k.access, &common::load(SPICE).1).is_empty());
}

#[test]
fn windows_kit() {
    let k = kit(WINDOWS);
    insta::assert_snapshot!("windows_sudoers", k.sudoers);
    insta::assert_snapshot!("windows_launcher", k.launcher);
    assert!(k.rules.contains("--timestart 08:00:00 --timestop 17:59:59 --weekdays Mon,Tue"));
    assert!(k.rules.contains("--weekdays Wed,Thu"));
    visudo_ok(&k.sudoers, &rampart_testing::tempdir("windows"), "rampart-desk-vms");
    // The time matches make the evaluator's verdict depend on the clock,
    // which a windowed grant allows.
    let (a, fw) = common::load(WINDOWS);
    let problems = rampart_access::check::check(&a, &fw);
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn check_finds_rules_that_disagree() {
    let swapped = SPICE
        .replace("user myself to mysrv port 20002", "user myself to mysrv port 20004")
        .replace("user mybro to mysrv port 20004", "user mybro to mysrv port 20002");
    let (a, fw) = common::load(&swapped);
    let problems: Vec<String> =
        rampart_access::check::check(&a, &fw).iter().map(ToString::to_string).collect();
    insta::assert_snapshot!(problems.join("\n"));
}

#[test]
fn every_escaped_character_passes_visudo() {
    let odd = rampart_access::sudoers::escape("spice://h?a=1,b:2 c\\d*[e]#f\"g!h");
    let text = format!("u ALL=(u:g) NOPASSWD: /bin/echo -- {odd}\n");
    visudo_ok(&text, &rampart_testing::tempdir("escape"), "escape");
}

#[test]
fn generation_is_deterministic() {
    let (a, b) = (kit(SPICE), kit(SPICE));
    assert_eq!((a.sudoers, a.launcher, a.rules), (b.sudoers, b.launcher, b.rules));
}
