//! The `iptables-script` target runs as a plain shell script and loads the
//! same rules as the restore document, in a namespace the test creates.

use std::path::Path;

use rampart_diag::Sources;
use rampart_lab::{Netns, Tool, require_tools};

#[test]
fn generated_script_checks_and_loads_every_example() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::IPTABLES_SAVE]).unwrap();
    for example in ["spice-client.rp", "office-gateway.rp"] {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(example);
        let mut sources = Sources::new();
        let model =
            rampart_model::load(&path, &mut sources).unwrap().model.expect("example checks clean");
        let fw = &model.firewalls[0];
        let c = rampart_lower::compile(fw);
        let script = rampart_emit::shell_script("test", &c.v4, &c.v6, &sources);
        let dir = rampart_testing::tempdir("script");
        let file = dir.join(format!("{example}.sh"));
        std::fs::write(&file, &script).unwrap();

        let ns = Netns::new().unwrap();
        let file = file.to_str().unwrap();
        ns.run(["sh", file, "--test"]).unwrap();
        assert_eq!(
            ns.stdout(["iptables-save"]).unwrap().matches("\n-A ").count(),
            0,
            "--test must load nothing"
        );
        let out = ns.stdout(["sh", file]).unwrap();
        assert!(out.contains("rule 1 ("), "the script says what each rule does: {out}");
        // Its rules, and one hook per built-in chain, also when run again.
        ns.run(["sh", file]).unwrap();
        let saved = ns.stdout(["iptables-save"]).unwrap();
        let hooks: usize = (c.v4.tables().into_iter())
            .map(|t| rampart_emit::hooked::owned(&c.v4, rampart_ir::Family::V4, t).hooks.len())
            .sum();
        assert_eq!(
            saved.matches("\n-A ").count(),
            c.v4.rule_count() + hooks,
            "{example}: loaded rules\n{saved}"
        );
    }
}
