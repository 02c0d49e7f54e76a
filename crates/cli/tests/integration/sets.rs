//! Run-time sets (`set NAME ipv4`) in a real kernel: `apply` creates the
//! ipset before the rules that match it, its elements decide, and they
//! are kept across a reload without `status` calling them drift.

use rampart_lab::{Netns, Tool, require_tools, veth};

use crate::deploy::{TwoPolicies, rampart, tools};
use crate::util::{tempdir, text};

fn pings(from: &Netns, to: &str) -> bool {
    from.run(["ping", "-c1", "-W1", to]).is_ok()
}

#[test]
fn a_blocklist_set_is_created_fills_at_run_time_and_survives_a_reload() {
    tools();
    require_tools(&[Tool::IPSET]).unwrap();
    let t = TwoPolicies::new(
        78,
        "sets",
        "set blocklist ipv4 timeout 1h size 1024\nservice ping icmp echo-request\n\
         service web tcp 80\nfirewall fw {\n interface eth0 10.78.0.1/24\n \
         ruleset main {\n  deny from blocklist log\n  accept service ping\n  {extra}\n }\n}\n",
        ["", "accept service web"],
    );
    let (fw, peer) = (&t.fw, &t.peer);
    let apply = |policy: &str| t.apply(policy, &[]);
    apply("a.rp");
    let list = fw.stdout(["ipset", "list", "blocklist"]).unwrap();
    assert!(list.contains("Type: hash:ip") && list.contains("timeout 3600"), "{list}");
    assert!(list.contains("maxelem 1024"), "{list}");
    assert!(pings(peer, "10.78.0.1"), "not in the set yet");

    fw.run(["ipset", "add", "blocklist", "10.78.0.2"]).unwrap();
    assert!(!pings(peer, "10.78.0.1"), "in the set: dropped");

    // A reload keeps the element, and status sees no drift.
    apply("b.rp");
    let list = fw.stdout(["ipset", "list", "blocklist"]).unwrap();
    assert!(list.contains("10.78.0.2 timeout"), "{list}");
    assert!(!pings(peer, "10.78.0.1"), "still in the set after the reload");
    let out = rampart(fw, &t.state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));

    fw.run(["ipset", "del", "blocklist", "10.78.0.2"]).unwrap();
    assert!(pings(peer, "10.78.0.1"), "out of the set again");
}

/// With nft the document replaces the table: the live elements are added
/// back in the same transaction.
#[test]
fn the_nft_backend_keeps_a_sets_elements_across_a_reload() {
    tools();
    require_tools(&[Tool { name: "nft", package: "nftables" }]).unwrap();
    let t = TwoPolicies::new(
        79,
        "sets-nft",
        "set blocklist ipv4 timeout 1h\nservice ping icmp echo-request\n\
         service web tcp 80\nfirewall fw {\n interface eth0 10.79.0.1/24\n \
         ruleset main {\n  deny from blocklist log\n  accept service ping\n  {extra}\n }\n}\n",
        ["", "accept service web"],
    );
    let (fw, peer) = (&t.fw, &t.peer);
    let apply = |policy: &str| t.apply(policy, &["--backend", "nft"]);
    apply("a.rp");
    assert!(pings(peer, "10.79.0.1"));
    fw.run(["nft", "add", "element", "inet", "rampart", "blocklist", "{ 10.79.0.2 }"]).unwrap();
    assert!(!pings(peer, "10.79.0.1"), "in the set: dropped");
    apply("b.rp");
    let list = fw.stdout(["nft", "list", "set", "inet", "rampart", "blocklist"]).unwrap();
    assert!(list.contains("10.79.0.2"), "{list}");
    assert!(!pings(peer, "10.79.0.1"), "still in the set after the reload");
    let out = rampart(fw, &t.state, &["status"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
}

/// Run rampart inside `ns` without a state directory (`logs`, `set`).
fn plain(ns: &Netns, args: &[&str]) -> std::process::Output {
    ns.command(env!("CARGO_BIN_EXE_rampart"))
        .args(args)
        .env("NO_COLOR", "1")
        .env("SSH_CONNECTION", "")
        .output()
        .expect("run rampart")
}

/// `logs blocklist --apply SET` puts what the log found into the loaded
/// set, on either backend, and refuses a set that is not loaded or an
/// address of the other family without adding anything.
#[test]
fn logs_blocklist_apply_fills_the_loaded_set() {
    tools();
    require_tools(&[Tool::IPSET, Tool::NFT]).unwrap();
    let dir = tempdir("sets-apply");
    std::fs::write(
        dir.join("p.rp"),
        "set blocklist ipv4 timeout 1h\nservice ping icmp echo-request\nfirewall fw {\n \
         interface eth0 10.77.0.1/24\n ruleset main {\n  deny from blocklist log\n  \
         accept service ping\n }\n}\n",
    )
    .unwrap();
    let deny = "RULE 2 -- DENY IN=eth0 OUT= SRC=10.77.0.2 DST=10.77.0.1 LEN=84 TOS=0x00 \
                PREC=0x00 TTL=64 ID=1 DF PROTO=ICMP TYPE=8 CODE=0 ID=7 SEQ=1 \n";
    let log = dir.join("kern.log");
    std::fs::write(&log, deny.repeat(3)).unwrap();
    let v6 = dir.join("v6.log");
    std::fs::write(
        &v6,
        format!(
            "{deny}RULE 2 -- DENY IN=eth0 OUT= SRC=2001:db8::7 DST=2001:db8::1 LEN=40 TC=0 \
             HOPLIMIT=64 FLOWLBL=0 PROTO=TCP SPT=1 DPT=22 \n"
        ),
    )
    .unwrap();
    let (log, v6) = (log.to_str().unwrap(), v6.to_str().unwrap());
    for backend in ["iptables", "nft"] {
        let fw = Netns::new().unwrap();
        let peer = Netns::new().unwrap();
        veth(&fw, "eth0", &peer, "eth0").unwrap();
        fw.addr("eth0", "10.77.0.1/24").unwrap();
        peer.addr("eth0", "10.77.0.2/24").unwrap();
        let p = dir.join("p.rp");
        let state = dir.join(format!("state-{backend}"));
        let out = rampart(&fw, &state, &["apply", p.to_str().unwrap(), "--backend", backend], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(pings(&peer, "10.77.0.1"), "{backend}: not in the set yet");

        let out = plain(&fw, &["logs", "blocklist", log, "--min-hits", "3", "--apply", "nosuch"]);
        assert_eq!(out.status.code(), Some(2), "{backend}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("no set `nosuch` is loaded"), "{}", text(&out.stderr));
        let odd = "x { 10.77.0.2 }; flush ruleset";
        let out = plain(&fw, &["set", "add", odd, "10.77.0.2"]);
        assert_eq!(out.status.code(), Some(2), "{backend}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains("is not a set name"), "{}", text(&out.stderr));
        let out = plain(&fw, &["logs", "blocklist", v6, "--min-hits", "1", "--apply", "blocklist"]);
        assert_eq!(out.status.code(), Some(2), "{backend}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).contains("2001:db8::7 is ipv6, and no set of --apply holds ipv6"),
            "{}",
            text(&out.stderr)
        );
        assert!(pings(&peer, "10.77.0.1"), "{backend}: a refused apply added nothing");

        let out = plain(
            &fw,
            &["logs", "blocklist", log, "--min-hits", "3", "--apply", "blocklist", "--json"],
        );
        assert_eq!(out.status.code(), Some(0), "{backend}: {}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let kind = if backend == "nft" { "nft" } else { "ipset" };
        assert_eq!(
            v,
            serde_json::json!({
                "sets": [{"name": "blocklist", "backend": kind, "family": "ipv4", "timeout": 3600}],
                "added": [{"address": "10.77.0.2", "set": "blocklist", "lines": 3}]
            })
        );
        let listed = if backend == "nft" {
            fw.stdout(["nft", "list", "set", "inet", "rampart", "blocklist"]).unwrap()
        } else {
            fw.stdout(["ipset", "list", "blocklist"]).unwrap()
        };
        assert!(
            listed.contains("10.77.0.2 timeout ") || listed.contains("10.77.0.2 expires "),
            "{listed}"
        );
        assert!(!pings(&peer, "10.77.0.1"), "{backend}: in the set, dropped");
    }
}

/// A fail2ban-server of the test's own (config, socket, pid file and log
/// under `dir`) inside a namespace; stopped, and killed, when dropped.
struct Fail2ban {
    child: std::process::Child,
    sock: String,
}

impl Fail2ban {
    fn start(ns: &Netns, dir: &std::path::Path) -> Fail2ban {
        let conf = dir.join("conf");
        let sock = dir.join("f2b.sock").to_str().unwrap().to_owned();
        let pid = dir.join("f2b.pid");
        let child = ns
            .command("fail2ban-server")
            .args(["-f", "-x", "-c", conf.to_str().unwrap(), "-s", &sock])
            .arg("-p")
            .arg(&pid)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("start fail2ban-server");
        let f2b = Fail2ban { child, sock };
        assert!(
            rampart_lab::wait_until(std::time::Duration::from_secs(20), || f2b
                .client(&["status", "probe"])
                .is_ok()),
            "fail2ban-server did not start its jail"
        );
        f2b
    }

    fn client(&self, args: &[&str]) -> Result<String, String> {
        let out = std::process::Command::new("fail2ban-client")
            .args(["-s", &self.sock])
            .args(args)
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() { Ok(text(&out.stdout)) } else { Err(text(&out.stderr)) }
    }
}

impl Drop for Fail2ban {
    fn drop(&mut self) {
        let _ = self.client(&["stop"]);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The shipped Fail2ban action with a real fail2ban-server: failed logins
/// in a log ban the address into the policy's set (the probe is dropped),
/// an unban takes it out, on either backend.
#[test]
fn a_real_fail2ban_bans_into_the_set_through_the_shipped_action() {
    tools();
    require_tools(&[
        Tool::IPSET,
        Tool::NFT,
        Tool { name: "fail2ban-server", package: "fail2ban" },
        Tool { name: "fail2ban-client", package: "fail2ban" },
    ])
    .unwrap();
    // The socket's path must fit in 108 bytes: a short directory.
    let dir = std::path::PathBuf::from(format!("/tmp/rampart-f2b-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let conf = dir.join("conf");
    for sub in ["filter.d", "action.d"] {
        std::fs::create_dir_all(conf.join(sub)).unwrap();
    }
    let cleanup = Cleanup(dir.clone());
    std::fs::copy(
        crate::util::root().join("dist/fail2ban/action.d/rampart.conf"),
        conf.join("action.d/rampart.conf"),
    )
    .unwrap();
    let log = dir.join("auth.log");
    std::fs::write(&log, "").unwrap();
    std::fs::write(
        conf.join("filter.d/probe.conf"),
        "[Definition]\nfailregex = ^bad login from <HOST>$\ndatepattern = {NONE}\n",
    )
    .unwrap();
    std::fs::write(
        conf.join("jail.conf"),
        format!(
            "[probe]\nenabled = true\nfilter = probe\nlogpath = {}\nbackend = polling\n\
             maxretry = 2\nfindtime = 600\nbantime = 600\n\
             action = rampart[setname=f2b, setname6=f2b6, rampart={}]\n",
            log.display(),
            env!("CARGO_BIN_EXE_rampart")
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("p.rp"),
        "set f2b ipv4 timeout 1d\nset f2b6 ipv6 timeout 1d\nservice ping icmp echo-request\n\
         firewall fw {\n interface eth0 10.76.0.1/24\n ruleset main {\n  deny from f2b log\n  \
         deny from f2b6 log\n  \
         accept service ping\n }\n}\n",
    )
    .unwrap();
    for backend in ["iptables", "nft"] {
        let fw = Netns::new().unwrap();
        let peer = Netns::new().unwrap();
        veth(&fw, "eth0", &peer, "eth0").unwrap();
        fw.addr("eth0", "10.76.0.1/24").unwrap();
        peer.addr("eth0", "10.76.0.2/24").unwrap();
        let p = dir.join("p.rp");
        let state = dir.join(format!("state-{backend}"));
        let out = rampart(&fw, &state, &["apply", p.to_str().unwrap(), "--backend", backend], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        let holds = |set: &str, addr: &str| {
            let list = if backend == "nft" {
                fw.stdout(["nft", "list", "set", "inet", "rampart", set])
            } else {
                fw.stdout(["ipset", "list", set])
            };
            list.unwrap().contains(addr)
        };
        let listed = || holds("f2b", "10.76.0.2");
        // A log of fail2ban's own per backend.
        let f2b_log = dir.join(format!("f2b-{backend}.log"));
        std::fs::write(
            conf.join("fail2ban.conf"),
            format!(
                "[Definition]\nloglevel = INFO\nlogtarget = {}\nsyslogsocket = auto\n\
                 dbfile = :memory:\nallowipv6 = auto\n",
                f2b_log.display()
            ),
        )
        .unwrap();
        std::fs::write(&log, "").unwrap();
        let f2b = Fail2ban::start(&fw, &dir);
        assert!(pings(&peer, "10.76.0.1"), "{backend}: not banned yet");

        // Two failures within findtime: a ban, through the action.
        std::fs::write(&log, "bad login from 10.76.0.2\nbad login from 10.76.0.2\n").unwrap();
        let f2b_log = || std::fs::read_to_string(&f2b_log).unwrap_or_default();
        assert!(
            rampart_lab::wait_until(std::time::Duration::from_secs(20), listed),
            "{backend}: fail2ban's ban is not in the set:\n{}",
            f2b_log()
        );
        assert!(!pings(&peer, "10.76.0.1"), "{backend}: banned, dropped");

        f2b.client(&["set", "probe", "unbanip", "10.76.0.2"]).unwrap();
        assert!(
            rampart_lab::wait_until(std::time::Duration::from_secs(10), || !listed()),
            "{backend}: the unban left the element:\n{}",
            f2b_log()
        );
        assert!(pings(&peer, "10.76.0.1"), "{backend}: unbanned, answered");

        f2b.client(&["set", "probe", "banip", "10.76.0.2"]).unwrap();
        assert!(rampart_lab::wait_until(std::time::Duration::from_secs(10), listed));
        // An IPv6 ban goes into the jail's IPv6 set (`setname6`).
        f2b.client(&["set", "probe", "banip", "2001:db8::7"]).unwrap();
        let six = || holds("f2b6", "2001:db8::7");
        assert!(rampart_lab::wait_until(std::time::Duration::from_secs(10), six), "{}", f2b_log());
        assert!(!holds("f2b", "2001:db8::7"));
        // Stopping fail2ban unbans what it banned.
        drop(f2b);
        assert!(!listed() && !six(), "{backend}: fail2ban's stop left the bans");
        let errors: Vec<String> = f2b_log()
            .lines()
            // What the actions' commands did (not the test's own polling
            // for the jail before it started).
            .filter(|l| {
                l.contains("ERROR")
                    && (l.contains("fail2ban.actions") || l.contains("fail2ban.utils"))
            })
            .map(str::to_owned)
            .collect();
        assert!(errors.is_empty(), "{backend}: fail2ban's actions failed:\n{}", errors.join("\n"));
    }
    drop(cleanup);
}

/// Removes the test's directory, even when the test fails.
struct Cleanup(std::path::PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// An address table (`set NAME from "FILE"`): the file read when
/// compiling, relative to the policy, compiled and traced as a group; a
/// bad line is an error at the table's own file, line and column.
#[test]
fn an_address_table_is_read_from_its_file_compiled_and_traced() {
    let dir = tempdir("sets-table");
    let sub = dir.join("tables");
    std::fs::create_dir_all(&sub).unwrap();
    std::fs::write(
        sub.join("blocked.txt"),
        "# scanners\n203.0.113.7\n  198.51.100.0/24   # a network\n\n10.9.0.1-10.9.0.5\n\
         2001:db8:bad::/48\n",
    )
    .unwrap();
    let policy = dir.join("p.rp");
    std::fs::write(
        &policy,
        "set blocked from \"tables/blocked.txt\"\nfirewall gw {\n interface eth0 10.0.0.1/24\n \
         ruleset main {\n  deny from blocked log\n  accept service ssh\n }\n}\n",
    )
    .unwrap();
    let p = policy.to_str().unwrap();
    let out = crate::util::rampart(&["compile", p, "--target", "nft"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let nft = text(&out.stdout);
    assert!(nft.contains("198.51.100.0/24") && nft.contains("10.9.0.1-10.9.0.5"), "{nft}");
    assert!(nft.contains("2001:db8:bad::/48"), "{nft}");
    let trace = |src: &str| {
        let out = crate::util::rampart(&[
            "trace", p, "--src", src, "--dst", "10.0.0.1", "--proto", "tcp", "--dport", "22",
        ]);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        text(&out.stdout)
    };
    assert!(trace("198.51.100.9").contains("verdict: DROP"), "{}", trace("198.51.100.9"));
    assert!(trace("10.9.0.3").contains("verdict: DROP"));
    assert!(trace("192.0.2.1").contains("verdict: ACCEPT"));

    std::fs::write(sub.join("blocked.txt"), "203.0.113.7\n  10.0.0.1 10.0.0.2\n10.0.0.300\n")
        .unwrap();
    let out = crate::util::rampart(&["check", "--json", p]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let at: Vec<(String, String, u64, u64)> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            let l = &d["location"];
            let file = l["file"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
            (
                d["code"].as_str().unwrap().to_owned(),
                file,
                l["line"].as_u64().unwrap(),
                l["column"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        at,
        [
            ("E0480".into(), "blocked.txt".into(), 2, 3),
            ("E0204".into(), "blocked.txt".into(), 3, 1)
        ]
    );

    // A direction mark, even in a comment, could show a line as other than
    // it reads.
    std::fs::write(sub.join("blocked.txt"), "203.0.113.7\n10.0.0.1 # x\u{2067}y\n").unwrap();
    let out = crate::util::rampart(&["check", p]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let err = text(&out.stderr);
    assert!(err.contains("E0741") && err.contains("blocked.txt:2:13"), "{err}");
    assert!(err.contains("\\u{2067}") && !err.contains('\u{2067}'), "{err}");

    std::fs::remove_file(sub.join("blocked.txt")).unwrap();
    let out = crate::util::rampart(&["check", "--json", p]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stdout).contains("E0481"), "{}", text(&out.stdout));
}
