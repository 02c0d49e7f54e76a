//! What the kernel did: LOG lines (read with [`crate::kmsg`]) and the rule
//! counters of `iptables-save -c` or `nft -j list ruleset`.
//!
//! LOG lines from a namespace reach the kernel log only with
//! `net.netfilter.nf_log_all_netns=1`. That switch is global, and labs run
//! in parallel, so it is shared: each lab process takes a ticket in
//! `/run/rampart-lab/`, the first saves the old value, and the last one out
//! puts it back.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::path::Path;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::kmsg::Kmsg;
use crate::netns::{LabError, Netns};

const LOG_ALL: &str = "/proc/sys/net/netfilter/nf_log_all_netns";
const STATE: &str = "/run/rampart-lab";

fn io(what: &str, e: std::io::Error) -> LabError {
    LabError::Io { what: what.to_owned(), source: e }
}

/// Turns `nf_log_all_netns` on until the returned ticket is given back
/// with [`release_log_all_netns`].
pub fn acquire_log_all_netns() -> Result<String, LabError> {
    let _ = std::process::Command::new("modprobe")
        .arg("nf_log_syslog")
        .stderr(std::process::Stdio::null())
        .status();
    std::fs::create_dir_all(STATE).map_err(|e| io(STATE, e))?;
    let lock = lock()?;
    let old = format!("{STATE}/nf_log_all_netns.old");
    if !Path::new(&old).exists() {
        let value = std::fs::read_to_string(LOG_ALL).map_err(|e| {
            io(&format!("{LOG_ALL} (needs the nf_log_syslog module, package kmod)"), e)
        })?;
        std::fs::write(&old, value.trim()).map_err(|e| io(&old, e))?;
    }
    let ticket = format!("{STATE}/log-user-{}", crate::netns::run_id());
    std::fs::write(&ticket, "").map_err(|e| io(&ticket, e))?;
    std::fs::write(LOG_ALL, "1").map_err(|e| io(LOG_ALL, e))?;
    drop(lock);
    Ok(ticket)
}

/// `nf_log_all_netns` on for as long as this lives: a ticket given back on
/// every way out, also when a test fails.
#[derive(Debug)]
pub struct NetnsLogging(String);

impl NetnsLogging {
    pub fn enable() -> Result<Self, LabError> {
        acquire_log_all_netns().map(Self)
    }
}

impl Drop for NetnsLogging {
    fn drop(&mut self) {
        release_log_all_netns(&self.0);
    }
}

/// Gives back every ticket of this process (the Ctrl-C handler).
pub fn release_all_log_tickets() {
    let mine = format!("log-user-{}-", std::process::id());
    let tickets: Vec<String> = std::fs::read_dir(STATE)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with(&mine))
                .collect()
        })
        .unwrap_or_default();
    for t in tickets {
        release_log_all_netns(&format!("{STATE}/{t}"));
    }
}

/// Gives the ticket back; the last holder restores the old value. Tickets
/// of processes that died are ignored.
pub fn release_log_all_netns(ticket: &str) {
    let Ok(lock) = lock() else { return };
    let _ = std::fs::remove_file(ticket);
    let others = std::fs::read_dir(STATE)
        .map(|rd| {
            rd.filter_map(Result::ok)
                .filter_map(|e| {
                    e.file_name().to_string_lossy().strip_prefix("log-user-").map(str::to_owned)
                })
                .filter(|run| {
                    let pid = run.split('-').next().unwrap_or("");
                    let alive = Path::new(&format!("/proc/{pid}")).exists();
                    if !alive {
                        let _ = std::fs::remove_file(format!("{STATE}/log-user-{run}"));
                    }
                    alive
                })
                .count()
        })
        .unwrap_or(0);
    let old = format!("{STATE}/nf_log_all_netns.old");
    if others == 0
        && let Ok(value) = std::fs::read_to_string(&old)
    {
        let _ = std::fs::write(LOG_ALL, value.trim());
        let _ = std::fs::remove_file(&old);
    }
    drop(lock);
}

fn lock() -> Result<File, LabError> {
    let path = format!("{STATE}/lock");
    std::fs::create_dir_all(STATE).map_err(|e| io(STATE, e))?;
    let f = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| io(&path, e))?;
    f.lock().map_err(|e| io(&path, e))?;
    Ok(f)
}

/// Reads the kernel log all the time on a thread of its own, so that a
/// burst of other messages (tests elsewhere on the machine) cannot
/// overwrite a probe's LOG lines in the ring buffer before they are read.
#[derive(Debug)]
pub struct KmsgTail {
    lines: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl KmsgTail {
    pub fn start() -> Result<Self, LabError> {
        let mut kmsg = Kmsg::open()?;
        let lines = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (l, st) = (Arc::clone(&lines), Arc::clone(&stop));
        let thread = std::thread::spawn(move || {
            while !st.load(Ordering::Relaxed) {
                let new = kmsg.lines();
                if !new.is_empty()
                    && let Ok(mut v) = l.lock()
                {
                    v.extend(new);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        });
        Ok(Self { lines, stop, thread: Some(thread) })
    }

    /// Everything printed since the last call.
    pub fn take(&self) -> Vec<String> {
        // One more pass of the reader, so the newest lines are in.
        std::thread::sleep(Duration::from_millis(20));
        self.lines.lock().map(|mut v| std::mem::take(&mut *v)).unwrap_or_default()
    }
}

impl Drop for KmsgTail {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One rule's counter in `iptables-save -c`: chain, position from 1 (0 for
/// the chain's policy), packets, and the rule as printed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Counter {
    pub chain: String,
    pub index: usize,
    pub packets: u64,
    pub text: String,
}

/// Reads the rule counters in a namespace: the filter table's with
/// `iptables-save -c`, or every rule's of `nft -j list ruleset` on nft.
pub fn counters(ns: &Netns, nft: bool) -> Result<Vec<Counter>, LabError> {
    if nft {
        let text = ns.stdout(["nft", "-j", "list", "ruleset"])?;
        return nft_counters(&text);
    }
    let text = ns.stdout(["iptables-save", "-c", "-t", "filter"])?;
    Ok(parse_counters(&text))
}

/// The counters of `nft -j list ruleset`, each with the rule's comment
/// (`R<n>: ...`), which names the policy rule it came from.
fn nft_counters(text: &str) -> Result<Vec<Counter>, LabError> {
    let read = rampart_ir::read::nft::counters(text).map_err(|e| LabError::Unreadable {
        what: "nft -j list ruleset".into(),
        diagnostics: e.to_string(),
    })?;
    Ok(read
        .into_iter()
        .map(|c| {
            let mut text = format!("{} {} {} rule {}", c.family, c.table, c.chain, c.index);
            match &c.comment {
                Some(comment) => text.push_str(&format!(" comment \"{comment}\"")),
                None => text.push_str(" (names no policy rule)"),
            }
            Counter { chain: c.chain, index: c.index, packets: c.packets, text }
        })
        .collect())
}

/// Parses `iptables-save -c` output.
#[must_use]
pub fn parse_counters(text: &str) -> Vec<Counter> {
    let mut out = Vec::new();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix(':') {
            // ":INPUT DROP [12:960]"
            let mut w = rest.split_whitespace();
            let (Some(chain), Some(policy), Some(c)) = (w.next(), w.next(), w.next()) else {
                continue;
            };
            if policy != "-" {
                out.push(Counter {
                    chain: chain.to_owned(),
                    index: 0,
                    packets: packets(c),
                    text: format!("policy {policy}"),
                });
            }
        } else if line.starts_with('[') {
            // "[3:180] -A INPUT -s 10.0.0.0/8 -j DROP"
            let Some((c, rule)) = line.split_once(' ') else { continue };
            let mut w = rule.split_whitespace();
            if w.next() != Some("-A") {
                continue;
            }
            let Some(chain) = w.next() else { continue };
            let n = seen.entry(chain.to_owned()).or_insert(0);
            *n += 1;
            out.push(Counter {
                chain: chain.to_owned(),
                index: *n,
                packets: packets(c),
                text: rule.to_owned(),
            });
        }
    }
    out
}

fn packets(c: &str) -> u64 {
    c.trim_start_matches('[').split(':').next().and_then(|p| p.parse().ok()).unwrap_or(0)
}

/// The counters that moved between two readings, with the packet delta.
#[must_use]
pub fn moved(before: &[Counter], after: &[Counter]) -> Vec<Counter> {
    after
        .iter()
        .filter_map(|a| {
            let old = before
                .iter()
                // The text too: nft's bridge and inet tables both have a
                // chain `forward`, and the text names the family and table.
                .find(|b| b.chain == a.chain && b.index == a.index && b.text == a.text)
                .map_or(0, |b| b.packets);
            (a.packets > old).then(|| Counter { packets: a.packets - old, ..a.clone() })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_per_chain_position_and_policy() {
        let text = "*filter\n:INPUT DROP [5:300]\n:RULE_7 - [0:0]\n\
                    [1:60] -A INPUT -i lo -j ACCEPT\n[4:240] -A INPUT -j RULE_7\n\
                    [4:240] -A RULE_7 -j DROP\nCOMMIT\n";
        let c = parse_counters(text);
        assert_eq!(c.len(), 4);
        assert_eq!((c[0].chain.as_str(), c[0].index, c[0].packets), ("INPUT", 0, 5));
        assert_eq!((c[2].chain.as_str(), c[2].index, c[2].packets), ("INPUT", 2, 4));
        assert_eq!((c[3].chain.as_str(), c[3].index), ("RULE_7", 1));
        let mut after = c.clone();
        after[3].packets = 6;
        let m = moved(&c, &after);
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].packets, 2);
    }
}
