//! `rampart import fwb`: a Firewall Builder file into a policy that checks,
//! with rule numbers kept and every part left out named and commented.

use crate::util::{rampart, tempdir, text};

const FIXTURE: &str = "crates/fwb/tests/fixtures/features.fwb";

#[test]
fn imports_a_firewall_that_checks_and_keeps_its_numbers() {
    let dir = tempdir("fwb");
    let out = dir.join("gw.rp");
    let run = rampart(&["import", "fwb", FIXTURE, "--firewall", "gw", "-o", out.to_str().unwrap()]);
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let policy = std::fs::read_to_string(&out).unwrap();
    assert!(policy.contains("deny from not lan on eth1 in log number 0"), "{policy}");
    assert!(policy.contains("accept to web service webs number 0"), "{policy}");
    let check = rampart(&["check", out.to_str().unwrap()]);
    assert_eq!(check.status.code(), Some(0), "{}", text(&check.stderr));
    // Rule 0 of the top rule set logs as Firewall Builder's did.
    let compiled = text(&rampart(&["compile", out.to_str().unwrap()]).stdout);
    assert!(compiled.contains("--log-prefix \"RULE 0 -- DENY \""), "{compiled}");
}

#[test]
fn parts_left_out_are_diagnostics_and_comments_and_exit_1() {
    let run = rampart(&["import", "fwb", FIXTURE, "--firewall", "lossy"]);
    assert_eq!(run.status.code(), Some(1));
    let (out, err) = (text(&run.stdout), text(&run.stderr));
    for what in [
        "rule 0 of Policy \"Policy\" (firewall \"lossy\"): Custom service \"xyz\" has no Rampart equivalent",
        "address table \"blocked\"",
        "DNS name object \"example\"",
        "TCPService \"syn only\" (TCP flags)",
        "rule 0 of NAT \"NAT\" (firewall \"lossy\"): a NAT branch",
        "rule 0 of NAT \"Mapped\" (firewall \"lossy\"): a rule of NAT rule set \"Mapped\"",
    ] {
        assert!(err.contains(what), "{what} not in:\n{err}");
    }
    assert!(out.contains("# left out: rule 0 (Custom service \"xyz\")"), "{out}");
    // A bridge interface's ports are a bridge of plain ports, not left out;
    // a negated one is, as fwb_ipt compiles it without the negation.
    assert!(out.contains("  bridge br0 {\n    port vnet0\n  }"), "{out}");
    assert!(
        err.contains("E1104") && err.contains("the negated bridge port \"vnet0\" (fwb_ipt drops"),
        "{err}"
    );
    assert!(out.contains("# left out: rule 5 (the negated bridge port"), "{out}");
    assert!(out.contains("accept from lan service ssh number 4"), "{out}");
    assert!(out.contains("# left out: NAT rule 0 of \"Mapped\""), "{out}");
}

#[test]
fn list_and_choosing_a_firewall() {
    let run = rampart(&["import", "fwb", FIXTURE, "--list"]);
    assert_eq!(run.status.code(), Some(0));
    let out = text(&run.stdout);
    assert!(out.contains("firewall \"gw\" (iptables, linux24)"), "{out}");
    assert!(out.contains("Policy \"Servers\": 3 rule(s)"), "{out}");
    assert!(out.contains("1  UserService"), "{out}");
    let several = rampart(&["import", "fwb", FIXTURE]);
    assert_eq!(several.status.code(), Some(2));
    assert!(text(&several.stderr).contains("choose one with --firewall"));
    let bad = rampart(&["import", "fwb", "examples/spice-client.rp"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("E1103"), "{}", text(&bad.stderr));
}

/// An address table the .fwb names is input: a line Rampart refuses (a
/// `;` comment, host bits) or a file that cannot be read is an error at
/// its file, line and column (exit 1), not a bug in the importer.
#[test]
fn errors_in_an_address_table_are_the_input_s() {
    let dir = tempdir("fwb-tables");
    let (blocked, trusted) = (dir.join("blocked.txt"), dir.join("trusted.txt"));
    std::fs::write(&blocked, "; blocked by hand\n192.0.2.66\n198.51.100.5/24\n").unwrap();
    std::fs::write(&trusted, "10.3.0.10\n").unwrap();
    let fixture =
        std::fs::read_to_string(crate::util::root().join("crates/fwb/tests/fixtures/tables.fwb"))
            .unwrap();
    for (table, wanted) in [
        (
            blocked.clone(),
            vec!["blocked.txt:1:1]", "blocked.txt:3:1]", "did you mean 198.51.100.0/24"],
        ),
        (dir.join("missing.txt"), vec!["E0481", "cannot read address table"]),
    ] {
        let file = dir.join("tables.fwb");
        let xml = fixture
            .replace("@BLOCKED@", table.to_str().unwrap())
            .replace("@TRUSTED@", trusted.to_str().unwrap());
        std::fs::write(&file, xml).unwrap();
        let out = dir.join("out.rp");
        let run = rampart(&[
            "import",
            "fwb",
            file.to_str().unwrap(),
            "--firewall",
            "tables",
            "-o",
            out.to_str().unwrap(),
        ]);
        let err = text(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{err}");
        for w in wanted {
            assert!(err.contains(w), "{w} not in:\n{err}");
        }
        assert!(!err.contains("bug"), "{err}");
        assert!(err.contains("an address table of firewall `tables` has errors"), "{err}");
        assert!(!out.exists(), "nothing is written");
    }
}
