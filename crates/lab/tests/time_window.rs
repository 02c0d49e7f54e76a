//! Time windows (`days`, `time`) in a real kernel: a rule whose window
//! holds the current UTC time accepts, one whose day or hours do not, does
//! not. The kernel's time match reads UTC (no `--kerneltz`), like Rampart.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_ir::Family;
use rampart_lab::{Netns, Tool, connects_as, connects_many, require_tools, veth, wait_until};

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// Today (0 = Monday) and the minute of the day, in UTC.
fn now_utc() -> (usize, u64) {
    let secs = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs();
    let days = secs / 86_400;
    // 1970-01-01 was a Thursday.
    (usize::try_from((days + 3) % 7).unwrap(), (secs % 86_400) / 60)
}

fn hhmm(minute: u64) -> String {
    let m = minute % 1440;
    format!("{:02}:{:02}", m / 60, m % 60)
}

fn compile(policy: &str) -> String {
    let compiled = rampart_lower::compile(&rampart_testing::firewall(policy));
    rampart_emit::iptables_restore(&compiled.v4, Family::V4, "time window test", None)
}

#[test]
fn rules_apply_only_inside_their_window() {
    require_tools(&[Tool::IP, Tool::IPTABLES_RESTORE, Tool::SETPRIV, Tool::SOCAT]).unwrap();
    let (today, minute) = now_utc();
    let tomorrow = DAYS[(today + 1) % 7];
    // Two to three hours from now: a window that does not hold this minute
    // (it may wrap midnight, which the kernel's match supports).
    let later = format!("{}-{}", hhmm(minute + 120), hhmm(minute + 180));
    let policy = format!(
        "user me uid 1021\nhost srv 192.168.2.2\n\
         service a tcp 20002\nservice b tcp 20003\nservice c tcp 20004\n\
         service all tcp 20001-20010\n\
         firewall lap {{\n interface eth0 192.168.2.22/24\n ruleset main {{\n  \
         accept to srv service a user me days {today} time 00:00-24:00 out\n  \
         accept to srv service b user me time {later} out\n  \
         accept to srv service c user me days {tomorrow} out\n  \
         deny service all log\n }}\n}}\n",
        today = DAYS[today],
    );
    let ruleset = compile(&policy);
    assert!(ruleset.contains("-m time"), "{ruleset}");

    let client = Netns::new().unwrap();
    let server = Netns::new().unwrap();
    veth(&client, "eth0", &server, "eth0").unwrap();
    client.addr("eth0", "192.168.2.22/24").unwrap();
    server.addr("eth0", "192.168.2.2/24").unwrap();
    let _listeners = server.tcp_listeners(&[20002, 20003, 20004]).unwrap();
    let up =
        wait_until(Duration::from_secs(5), || connects_as(&client, 1021, "192.168.2.2", 20003));
    assert!(up, "listener not reachable without firewall");

    client.run_with_input(&["iptables-restore", "-w"], &ruleset).unwrap();
    let got = connects_many(
        &client,
        "192.168.2.2",
        &[(1021, 20002), (1021, 20003), (1021, 20004), (1099, 20002)],
    );
    assert!(got[0], "today, all day: must connect");
    assert!(!got[1], "window {later} UTC does not hold now");
    assert!(!got[2], "{tomorrow} is not today");
    assert!(!got[3], "another user, inside the window");
}
