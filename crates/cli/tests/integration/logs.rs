//! `rampart logs` end to end: runs the built binary on the shipped fixture,
//! on gzip and stdin, and on live sources (a followed file, /dev/kmsg).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Output, Stdio};
use std::time::Duration;

use rampart_lab::Netns;

use crate::util::{command, tempdir};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../logs/tests/fixtures/mixed.log")
}

fn run(args: &[&str]) -> Output {
    command().args(args).output().expect("run rampart")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn summary_text_and_exit_code() {
    let f = fixture();
    let o = run(&["logs", "summary", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1), "the fixture has one line cut short");
    let out = stdout(&o);
    assert!(
        out.starts_with(
            "lines: 30 total, 27 firewall (1 read in part), 3 other, 0 lost\n\
             read in part: 1 cut short\n"
        ),
        "{out}"
    );
    assert!(out.contains("     14  RULE 16 -- DENY"), "{out}");
    assert!(!out.contains("lines read in part:"), "the lines only with --show-partial");
    let o = run(&["logs", "summary", "--show-partial", f.to_str().unwrap()]);
    assert!(stdout(&o).contains("mixed.log:28: cut short"), "{}", stdout(&o));
}

const REDACTED: &str = "\
Dec  3 10:00:00 h kernel: [UFW BLOCK] IN=eth0 OUT= MAC=xx SRC=45.55.2.201 DST=xxx LEN=40 TOS=0x00 PREC=0x00 TTL=241 ID=54321 PROTO=TCP SPT=40788 DPT=3306 WINDOW=65535 RES=0x00 SYN URGP=0
Dec  3 10:00:01 h kernel: [UFW BLOCK] IN=eth0 OUT= MAC=xx SRC=45.55.2.201 DST=192.0.2.1 LEN=40 TOS=0x00 PREC=0x00 TTL=241 ID=54322 PROTO=TCP SPT=40789 DPT=3306 WIN
";

/// The exit status tells a script "could not run" (2) from "ran, some
/// lines read in part" (1) and "every line read whole" (0); lines with a
/// redacted field or cut short count by what they hold in every command.
#[test]
fn lines_read_in_part_count_and_set_the_exit_status() {
    let d = tempdir("partial");
    let odd = d.join("ufw.log");
    std::fs::write(&odd, REDACTED).unwrap();
    let whole = d.join("whole.log");
    std::fs::write(&whole, REDACTED.lines().next().unwrap().replace("DST=xxx", "DST=192.0.2.1"))
        .unwrap();
    let (odd, whole) = (odd.to_str().unwrap(), whole.to_str().unwrap());

    let o = run(&["logs", "summary", "--json", odd]);
    assert_eq!(o.status.code(), Some(1), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!((v["firewall_lines"].as_u64(), v["partial_lines"].as_u64()), (Some(2), Some(2)));
    assert_eq!(v["cut_lines"], 1);
    assert_eq!(v["unparsed_fields"], serde_json::json!({"DST": 1}));
    assert_eq!(v["by_prefix"]["[UFW BLOCK]"], 2);
    assert_eq!(v["top_sources"][0], serde_json::json!({"addr": "45.55.2.201", "count": 2}));
    assert_eq!(v["top_ports"][0], serde_json::json!({"proto": "tcp", "port": 3306, "count": 2}));
    let o = run(&["logs", "summary", whole]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));

    let o = run(&["logs", "follow", "--no-follow", "--json", odd]);
    assert_eq!(o.status.code(), Some(1));
    let events: Vec<serde_json::Value> =
        stdout(&o).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 2);
    assert_eq!(events[0]["unparsed_fields"], serde_json::json!(["DST"]));
    assert_eq!(
        (&events[1]["cut"], &events[1]["dpt"]),
        (&serde_json::json!(true), &serde_json::json!(3306))
    );
    assert_eq!(run(&["logs", "follow", "--no-follow", whole]).status.code(), Some(0));

    let o = run(&["logs", "blocklist", "--min-hits", "2", "--show-partial", odd]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stdout(&o).contains("45.55.2.201"), "{}", stdout(&o));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("2 firewall lines read in part (counted by what they hold): 1 cut short; fields not read: DST 1:"),
        "{err}"
    );
    assert!(err.contains("ufw.log:2: cut short"), "{err}");
    let o = run(&["logs", "scans", "--json", odd]);
    assert_eq!(o.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["partial_lines"], 2);

    let o = run(&["logs", "summary", &format!("{}/missing.log", d.display())]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn summary_json_threads_agree() {
    let f = fixture();
    let one = run(&["logs", "summary", "--json", "--top", "3", f.to_str().unwrap()]);
    let two = run(&["logs", "summary", "--json", "--top", "3", "-j", "2", f.to_str().unwrap()]);
    assert_eq!(stdout(&one), stdout(&two));
    let v: serde_json::Value = serde_json::from_slice(&one.stdout).unwrap();
    assert_eq!(v["firewall_lines"], 27);
    assert_eq!(v["by_prefix"]["[UFW BLOCK]"], 2);
    assert_eq!(v["top_sources"].as_array().unwrap().len(), 3);
    assert_eq!(v["top_ports"][0], serde_json::json!({"proto": "tcp", "port": 443, "count": 4}));
    assert_eq!(v["lost_lines"], 0);
}

#[test]
fn summary_gzip_and_stdin() {
    let d = tempdir("gz");
    let plain = std::fs::read(fixture()).unwrap();
    let gz = d.join("kern.log.2.gz");
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(&plain).unwrap();
    std::fs::write(&gz, e.finish().unwrap()).unwrap();
    let a = run(&["logs", "summary", "--json", gz.to_str().unwrap()]);
    let mut child = command()
        .args(["logs", "summary", "--json", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(&plain).unwrap();
    let b = child.wait_with_output().unwrap();
    let f = fixture();
    let c = run(&["logs", "summary", "--json", f.to_str().unwrap()]);
    assert_eq!(stdout(&a), stdout(&c));
    assert_eq!(stdout(&b), stdout(&c));
}

#[test]
fn missing_file_is_operational_failure() {
    let o = run(&["logs", "summary", "/nonexistent/kern.log"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("/nonexistent/kern.log"));
}

#[test]
fn follow_files_once_with_filters() {
    let f = fixture();
    let f = f.to_str().unwrap();
    let o = run(&["logs", "follow", "--no-follow", "--rule", "16", "--port", "22", f]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 2, "{out}");
    assert!(out.lines().all(|l| l.contains("#16 DENY") && l.contains(":22")), "{out}");
    let o = run(&["logs", "follow", "--no-follow", "--action", "REJECT", f]);
    assert_eq!(stdout(&o).lines().count(), 3, "{}", stdout(&o));
    let o = run(&["logs", "follow", "--no-follow", "--src", "2001:db8::/32", "--json", f]);
    let out = stdout(&o);
    assert_eq!(out.lines().count(), 1, "{out}");
    let v: serde_json::Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["src"], "2001:db8::1");
    assert_eq!(v["action"], "REJECT");
    let o = run(&["logs", "follow", "--no-follow", "--iface", "br0", f]);
    assert!(stdout(&o).contains("br0>br0 [vnet0>vnet1]"), "{}", stdout(&o));
}

#[test]
fn scans_json() {
    let f = fixture();
    let o = run(&["logs", "scans", "--json", f.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let scans = v["scans"].as_array().unwrap();
    assert_eq!(scans.len(), 1, "{v}");
    assert_eq!(scans[0]["src"], "203.0.113.7");
    assert_eq!(scans[0]["kind"], "portscan");
    assert_eq!(scans[0]["ports"], 12);
    assert_eq!(scans[0]["danger"], 1);
    assert_eq!(v["partial_lines"], 1);
    let o = run(&["logs", "scans", "--min-ports", "20", f.to_str().unwrap()]);
    assert_eq!(stdout(&o), "no scans found\n");
}

#[test]
fn blocklist_formats() {
    let f = fixture();
    let f = f.to_str().unwrap();
    let o = run(&["logs", "blocklist", "--min-hits", "2", f]);
    assert_eq!(
        stdout(&o),
        "# rampart logs blocklist: 3 sources\nadd element inet rampart blocklist_v4 { 192.0.2.77, 198.51.100.99, 203.0.113.7 }\n"
    );
    let o = run(&[
        "logs",
        "blocklist",
        "--min-hits",
        "2",
        "--format",
        "ipset",
        "--exclude",
        "192.0.2.0/24",
        f,
    ]);
    assert_eq!(
        stdout(&o),
        "create blocklist_v4 hash:ip family inet -exist\nadd blocklist_v4 198.51.100.99 -exist\nadd blocklist_v4 203.0.113.7 -exist\n"
    );
}

/// Wait until `path` holds `n` lines or time runs out.
fn wait_lines(path: &Path, n: usize) -> String {
    let read = || std::fs::read_to_string(path).unwrap_or_default();
    rampart_lab::wait_until(Duration::from_secs(10), || read().lines().count() >= n);
    read()
}

#[test]
fn collect_from_followed_file_across_rotation() {
    let d = tempdir("collect");
    let log = d.join("kern.log");
    let out = d.join("fw.jsonl");
    std::fs::write(&log, "old line before start\n").unwrap();
    let child = command()
        .args(["logs", "collect", "--json-lines", "--exit-idle", "3"])
        .arg("--from")
        .arg(&log)
        .arg("--to")
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let line = std::fs::read_to_string(fixture()).unwrap();
    let first_fw = line.lines().nth(1).unwrap();
    let mut f = std::fs::OpenOptions::new().append(true).open(&log).unwrap();
    writeln!(f, "{first_fw}\nNov 28 06:25:04 web1 CRON[1]: not a firewall line").unwrap();
    drop(f);
    assert_eq!(wait_lines(&out, 1).lines().count(), 1);
    std::fs::rename(&log, d.join("kern.log.1")).unwrap();
    std::fs::write(&log, format!("{}\n", line.lines().nth(14).unwrap())).unwrap();
    let text = wait_lines(&out, 2);
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let events: Vec<serde_json::Value> =
        text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(events.len(), 2, "{text}");
    assert_eq!(events[0]["dpt"], 22);
    assert_eq!(events[0]["attribution"]["source"]["rule"], 16);
    assert_eq!(events[1]["prefix"], "[UFW BLOCK]");
}

/// Live /dev/kmsg: a record written to the ring (no traffic) must reach
/// the collected file, and a summary of that file must count it.
#[test]
fn collect_from_kmsg() {
    let d = tempdir("kmsg");
    let out = d.join("fw.log");
    let mut child = command()
        .args(["logs", "collect", "--exit-idle", "3", "--to"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let tag = format!("rampart-selftest-{} ", std::process::id());
    let rec = format!(
        "{tag}IN=lo OUT= SRC=127.0.0.9 DST=127.0.0.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=1 DPT=9 WINDOW=1 RES=0x00 SYN URGP=0 \n"
    );
    let write = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/kmsg")
        .and_then(|mut k| k.write_all(rec.as_bytes()));
    if let Err(e) = write {
        let _ = child.kill();
        panic!("cannot write /dev/kmsg ({e}): this test needs root and /dev/kmsg");
    }
    // Other tests may log to the ring meanwhile: wait for this record.
    let read = || std::fs::read_to_string(&out).unwrap_or_default();
    let seen = rampart_lab::wait_until(Duration::from_secs(10), || read().contains(tag.trim_end()));
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let text = read();
    assert!(seen, "the record never reached {}: {text}", out.display());
    let ours: Vec<&str> = text.lines().filter(|l| l.contains(tag.trim_end())).collect();
    assert_eq!(ours.len(), 1, "{text}");
    assert!(ours[0].contains(" kernel: rampart-selftest-"), "{text}");
    let s = run(&["logs", "summary", "--json", out.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&s.stdout).unwrap();
    assert_eq!(v["by_prefix"][tag.trim_end()], 1, "{v}");
    assert_eq!(v["time_span"]["clock"], "wall");
}

#[test]
fn kernel_ring_summary_runs() {
    let o = run(&["logs", "summary", "--json"]);
    assert!(matches!(o.status.code(), Some(0 | 1)), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert!(v["total_lines"].as_u64().unwrap() > 0, "the kernel ring is never empty");
}

/// Start `rampart logs collect --nflog 5` inside the namespace, let `ping`
/// send `count` echo requests to 127.0.0.1 there (each logged twice: the
/// request and the reply leave through OUTPUT), and return the JSON lines.
fn nflog_collect(
    ns: &Netns,
    ping: &[&str],
    extra: &[&str],
    expect: usize,
) -> (Vec<serde_json::Value>, String) {
    let d = tempdir(&format!("nflog-{}", ns.name()));
    let out = d.join("nflog.jsonl");
    ns.run([
        "iptables",
        "-A",
        "OUTPUT",
        "-p",
        "icmp",
        "-j",
        "NFLOG",
        "--nflog-group",
        "5",
        "--nflog-prefix",
        "RULE 9 -- ACCEPT ",
    ])
    .unwrap();
    let child = ns
        .command(env!("CARGO_BIN_EXE_rampart"))
        .args(["logs", "collect", "--nflog", "5", "--json-lines", "--exit-idle", "3", "--to"])
        .arg(&out)
        .args(extra)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let mut argv = vec!["ping"];
    argv.extend_from_slice(ping);
    argv.push("127.0.0.1");
    let st = ns
        .command("ping")
        .args(&argv[1..])
        .stdout(Stdio::null())
        .status()
        .expect("ping: apt-get install -y iputils-ping");
    assert!(st.success(), "ping inside the namespace failed");
    wait_lines(&out, expect);
    let o = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr).into_owned();
    assert_eq!(o.status.code(), Some(0), "{err}");
    let text = std::fs::read_to_string(&out).unwrap();
    let events = text.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    (events, err)
}

#[test]
fn nflog_in_a_namespace() {
    let ns = Netns::new().unwrap();
    let (events, _) = nflog_collect(&ns, &["-c", "3", "-i", "0.2"], &[], 6);
    assert_eq!(events.len(), 6, "3 requests and 3 replies: {events:?}");
    let requests: Vec<_> = events.iter().filter(|e| e["icmp_type"] == 8).collect();
    assert_eq!(requests.len(), 3);
    for e in &events {
        assert_eq!(e["prefix"], "RULE 9 -- ACCEPT");
        assert_eq!(e["attribution"]["source"]["rule"], 9);
        assert_eq!(e["out"], "lo");
        assert_eq!(e["src"], "127.0.0.1");
        assert_eq!(e["proto"], "icmp");
    }
    assert_eq!(requests[0]["uid"], 0, "locally sent requests carry the socket's UID");
}

/// 100,000 flood pings = 200,000 NFLOG messages: none may be lost.
#[test]
fn nflog_burst_loses_nothing() {
    let ns = Netns::new().unwrap();
    let (events, err) =
        nflog_collect(&ns, &["-f", "-q", "-c", "100000"], &["--rcvbuf", "268435456"], 200_000);
    assert!(err.contains("wrote 200000 firewall lines, 0 records lost"), "{err}");
    assert_eq!(events.len(), 200_000);
    assert!(events.iter().all(|e| e.get("lost").is_none()));
}

#[test]
fn partial_line_numbers_are_per_file() {
    let f = fixture();
    let f = f.to_str().unwrap();
    let o = run(&["logs", "summary", "--json", "--show-partial", f, f]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["partial_lines"], 2);
    assert_eq!(v["partial"][0]["line"], 28);
    assert_eq!(v["partial"][1]["line"], 28, "line numbers restart in each file");
}

/// `--policy` ties a rule's lines to where the rule is written.
#[test]
fn summary_links_lines_to_the_policy_rule() {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("logs-policy-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("kern.log");
    std::fs::write(
        &log,
        "Nov 28 10:00:01 mylap kernel: [12345.678901] RULE 16 -- DENY IN= OUT=eth0 SRC=192.168.2.22 \
         DST=192.168.2.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40001 DPT=20004 \
         WINDOW=64240 RES=0x00 SYN URGP=0 \n",
    )
    .unwrap();
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let out = command()
        .args(["logs", "summary", "--json", "--policy", "examples/spice-client.rp"])
        .arg(&log)
        .current_dir(root)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("\"file\": \"examples/spice-client.rp\""), "{text}");
    assert!(text.contains("\"line\": 32"), "{text}");
    assert!(text.contains("\"comment\": \"consoles of other users\""), "{text}");
}

/// `follow --policy` shows, for each line, where its rule is written.
#[test]
fn follow_links_lines_to_the_policy_rule() {
    let d = tempdir("follow-policy");
    let log = d.join("kern.log");
    std::fs::write(
        &log,
        "Nov 28 10:00:01 mylap kernel: [12345.678901] RULE 16 -- DENY IN= OUT=eth0 SRC=192.168.2.22 \
         DST=192.168.2.2 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40001 DPT=20004 \
         WINDOW=64240 RES=0x00 SYN URGP=0 UID=1023 GID=1023 \n\
         Nov 28 10:00:02 mylap kernel: RULE 4 -- ACCEPT IN= OUT=eth0 SRC=192.168.2.22 \
         DST=192.168.2.1 LEN=60 TOS=0x00 PREC=0x00 TTL=64 ID=2 PROTO=UDP SPT=5353 DPT=53 LEN=40 \n\
         Nov 28 10:00:03 mylap kernel: [UFW BLOCK] IN=eth0 OUT= SRC=203.0.113.7 DST=192.168.2.22 \
         LEN=40 TOS=0x00 PREC=0x00 TTL=51 ID=2 PROTO=UDP SPT=5 DPT=53 LEN=20 \n",
    )
    .unwrap();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let follow = |extra: &[&str]| {
        let o = command()
            .args(["logs", "follow", "--from-start", "--exit-idle", "1"])
            .args(["--policy", "examples/spice-client.rp"])
            .args(extra)
            .arg(&log)
            .current_dir(&root)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
        stdout(&o)
    };
    let text = follow(&[]);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(
        lines[0].ends_with("uid=1023  examples/spice-client.rp:32 # consoles of other users"),
        "{text}"
    );
    assert!(
        lines[1].ends_with("  examples/spice-client.rp:29 # name, address and time services"),
        "{text}"
    );
    assert!(!lines[2].contains("spice-client.rp"), "ufw lines have no policy rule: {text}");
    let json = follow(&["--json", "--rule", "16"]);
    let v: serde_json::Value = serde_json::from_str(json.trim()).unwrap();
    assert_eq!(
        v["policy"],
        serde_json::json!({
            "file": "examples/spice-client.rp",
            "line": 32,
            "comment": "consoles of other users"
        })
    );
}

/// The policy's own `log-prefix` is how `--policy` reads the log: a prefix
/// rendered by `compile` is attributed back to its rule and rule set.
#[test]
fn policy_log_prefix_template_round_trips() {
    let d = tempdir("template");
    let policy = d.join("p.rp");
    std::fs::write(
        &policy,
        "firewall fw {\n  interface eth0 10.0.0.1/24\n  log-prefix \"%C:%N %A \"\n\
         \x20 ruleset main {\n    branch users in\n  }\n\
         \x20 ruleset users {\n    deny service telnet log comment \"no telnet\"\n  }\n}\n\
         service telnet tcp 23\n",
    )
    .unwrap();
    let compiled = run(&["compile", policy.to_str().unwrap()]);
    assert_eq!(compiled.status.code(), Some(0), "{}", String::from_utf8_lossy(&compiled.stderr));
    let rules = stdout(&compiled);
    let prefix = rules
        .split("--log-prefix \"")
        .skip(1)
        .filter_map(|r| r.split('"').next())
        .find(|p| p.starts_with("users"))
        .unwrap_or_else(|| panic!("no log prefix of rule set users in {rules}"));
    assert_eq!(prefix, "users:2 DENY ");
    let log = d.join("kern.log");
    std::fs::write(
        &log,
        format!(
            "Nov 28 10:00:01 fw kernel: {prefix}IN=eth0 OUT= SRC=192.0.2.9 DST=10.0.0.1 LEN=60 \
             TOS=0x00 PREC=0x00 TTL=64 ID=1 DF PROTO=TCP SPT=40001 DPT=23 WINDOW=64240 \
             RES=0x00 SYN URGP=0 \n"
        ),
    )
    .unwrap();
    let args = ["logs", "summary", "--json", "--policy", policy.to_str().unwrap()];
    let o = command().args(args).arg(&log).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", String::from_utf8_lossy(&o.stderr));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let rule = &v["rules"][0];
    assert_eq!(rule["attribution"]["source"]["kind"], "rampart", "{v:#}");
    assert_eq!(rule["attribution"]["source"]["rule"], 2, "{v:#}");
    assert_eq!(rule["attribution"]["source"]["ruleset"], "users", "{v:#}");
    assert_eq!(rule["policy"]["comment"], "no telnet", "{v:#}");
    // the same line through `follow --policy`
    let o = command()
        .args(["logs", "follow", "--no-follow", "--json", "--policy", policy.to_str().unwrap()])
        .arg(&log)
        .output()
        .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(v["policy"]["comment"], "no telnet", "{v:#}");
    // two sources of the template are refused rather than one silently won
    let o = command()
        .args(args)
        .args(["--prefix-template", "RULE %N -- %A "])
        .arg(&log)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--prefix-template and --policy"));
}

/// One grammar: a placeholder the compiler would not expand is refused by
/// the policy check and by the log reader alike.
#[test]
fn unknown_placeholders_are_refused_everywhere() {
    let d = tempdir("placeholder");
    let policy = d.join("p.rp");
    std::fs::write(
        &policy,
        "firewall fw {\n  interface eth0 10.0.0.1/24\n  log-prefix \"%R:%N %A \"\n\
         \x20 ruleset main {\n    deny log\n  }\n}\n",
    )
    .unwrap();
    let o = run(&["check", policy.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown placeholder `%R`"));
    let f = fixture();
    let o = run(&["logs", "summary", "--prefix-template", "%R:%N %A ", f.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("unknown placeholder `%R`"));
}
