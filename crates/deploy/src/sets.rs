//! Run-time sets (`set NAME ipv4`): their elements are not the policy's
//! (fail2ban or `rampart logs blocklist --apply` put them there), so a
//! load keeps them. iptables: each ipset is created, if missing, before
//! the rules that match it. nft: the document replaces the table, so the
//! live elements are added back in the same transaction. [`live`] finds a
//! loaded set for those who fill it (`rampart set`, `logs blocklist --apply`).

use std::net::IpAddr;

use rampart_ir::{DynSet, Family, Restricted};
use serde::Serialize;
use serde_json::Value;

use crate::DeployError;
use crate::iptables::run;

/// Create every set `v4` and `v6` match, keeping existing ones as they are.
pub fn ensure(v4: &Restricted, v6: &Restricted) -> Result<(), DeployError> {
    for set in rampart_ir::sets(v4).into_iter().chain(rampart_ir::sets(v6)) {
        create(&set)?;
    }
    Ok(())
}

fn create(set: &DynSet) -> Result<(), DeployError> {
    let args = set.ipset_create();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    run("ipset", &args, None).map(|_| ())
}

/// `doc` with the live elements of its sets with timeouts added back
/// after it, so that replacing the table keeps them.
pub fn carry_over(doc: &str) -> Result<String, DeployError> {
    let mut out = doc.to_owned();
    for name in doc.lines().filter_map(|l| l.strip_prefix("\tset ")?.strip_suffix(" {")) {
        // A set the kernel does not have yet has nothing to keep.
        let Ok(json) = run("nft", &["-j", "list", "set", "inet", "rampart", name], None) else {
            continue;
        };
        let elems = live_elements(&json).map_err(|why| {
            DeployError::Unreadable(format!("the elements of nft set `{name}`: {why}"))
        })?;
        if !elems.is_empty() {
            out.push_str(&format!("add element inet rampart {name} {{ {} }}\n", elems.join(", ")));
        }
    }
    Ok(out)
}

/// The elements of a listed set with timeouts, as `add element` writes
/// them; a set without timeouts is the policy's own (empty).
fn live_elements(json: &str) -> Result<Vec<String>, String> {
    let set = &listed_set(json)?;
    let timed = set["flags"].as_array().is_some_and(|f| f.iter().any(|x| x == "timeout"));
    if !timed {
        return Ok(vec![]);
    }
    let default = set["timeout"].as_u64();
    let mut out = Vec::new();
    for e in set["elem"].as_array().map_or(&[][..], Vec::as_slice) {
        let (val, timeout, expires) = match e {
            Value::String(s) => (s.as_str(), None, None),
            _ => match e["elem"]["val"].as_str() {
                Some(v) => (v, e["elem"]["timeout"].as_u64(), e["elem"]["expires"].as_u64()),
                None => return Err(format!("an element Rampart cannot read: {e}")),
            },
        };
        if val.parse::<std::net::IpAddr>().is_err() {
            return Err(format!("`{val}` is not an address"));
        }
        let mut text = val.to_owned();
        if let Some(t) = timeout.or(default) {
            text.push_str(&format!(" timeout {t}s"));
            if let Some(x) = expires {
                text.push_str(&format!(" expires {}s", x.max(1)));
            }
        }
        out.push(text);
    }
    Ok(out)
}

/// The set of an `nft -j list set` listing.
fn listed_set(json: &str) -> Result<Value, String> {
    let mut v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    v["nftables"]
        .as_array_mut()
        .and_then(|a| a.iter_mut().find_map(|o| o.get_mut("set").map(Value::take)))
        .ok_or_else(|| "no set in the listing".to_owned())
}

/// Where a loaded run-time set lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// A named set of the `inet rampart` table.
    Nft,
    /// An ipset that loaded iptables rules match.
    Ipset,
}

/// A run-time set as the kernel holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Live {
    pub name: String,
    pub backend: Backend,
    #[serde(serialize_with = "family_name")]
    pub family: Family,
    /// Seconds an added element stays (the set's own timeout).
    pub timeout: Option<u64>,
}

fn family_name<S: serde::Serializer>(f: &Family, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(match f {
        Family::V4 => "ipv4",
        Family::V6 => "ipv6",
    })
}

/// The loaded set `name`: the nft set of Rampart's table, or an ipset that
/// loaded rules match. Neither, or both, is an error: an element must go
/// where the loaded rules look.
pub fn live(name: &str) -> Result<Live, DeployError> {
    // A policy's set name, nothing that could be read as more of a command.
    if name.is_empty()
        || name.len() > 31
        || !name.starts_with(|c: char| c.is_ascii_alphabetic())
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return Err(DeployError::Set(format!(
            "`{name}` is not a set name a policy declares (a letter, then letters, digits \
             or `_`, at most 31)"
        )));
    }
    let nft = match run("nft", &["-j", "list", "set", "inet", "rampart", name], None) {
        Ok(json) => Some(
            nft_set(name, &json)
                .map_err(|why| DeployError::Unreadable(format!("the nft set `{name}`: {why}")))?,
        ),
        Err(e) if absent(&e) => None,
        Err(e) => return Err(e),
    };
    let ipset = match run("ipset", &["list", name, "-t"], None) {
        Ok(text) => Some(ipset_header(name, &text)?),
        Err(e) if absent(&e) => None,
        Err(e) => return Err(e),
    };
    match (nft, ipset) {
        (Some(set), None | Some((_, 0))) => Ok(set),
        (None, Some((set, refs))) if refs > 0 => Ok(set),
        (None, Some(_)) => Err(DeployError::Set(format!(
            "ipset `{name}` exists, but no loaded rule matches it: apply a policy that \
             declares `set {name}` first"
        ))),
        (None, None) => Err(DeployError::Set(format!(
            "no set `{name}` is loaded (neither an nft set of table inet rampart nor an \
             ipset): declare `set {name} ipv4` (or ipv6) in the policy and apply it"
        ))),
        (Some(_), Some(_)) => Err(DeployError::Set(format!(
            "`{name}` is both an nft set and an ipset that iptables rules match: \
             Rampart cannot tell which the loaded firewall uses"
        ))),
    }
}

/// The tool said the set (or nft's table) does not exist, or the tool is
/// not installed: that backend has no such set.
fn absent(e: &DeployError) -> bool {
    match e {
        DeployError::Tool(rampart_os::ToolError::Spawn { .. }) => true,
        DeployError::Tool(rampart_os::ToolError::Failed { stderr, .. }) => {
            stderr.contains("No such file or directory")
                || stderr.contains("The set with the given name does not exist")
        }
        _ => false,
    }
}

fn nft_set(name: &str, json: &str) -> Result<Live, String> {
    let set = &listed_set(json)?;
    let family = match set["type"].as_str() {
        Some("ipv4_addr") => Family::V4,
        Some("ipv6_addr") => Family::V6,
        other => return Err(format!("a set of {other:?}, not of addresses")),
    };
    Ok(Live {
        name: name.to_owned(),
        backend: Backend::Nft,
        family,
        timeout: set["timeout"].as_u64(),
    })
}

/// The set and its references from `ipset list NAME -t`.
fn ipset_header(name: &str, text: &str) -> Result<(Live, u64), DeployError> {
    let field = |key: &str| text.lines().find_map(|l| l.strip_prefix(key)).map(str::trim);
    let bad = |why: &str| DeployError::Unreadable(format!("ipset `{name}`: {why}:\n{text}"));
    if field("Type:") != Some("hash:ip") {
        return Err(DeployError::Set(format!(
            "ipset `{name}` is not a set of addresses (hash:ip); Rampart did not make it"
        )));
    }
    let header: Vec<&str> = field("Header:").ok_or_else(|| bad("no header"))?.split(' ').collect();
    let after = |key: &str| header.iter().position(|w| *w == key).and_then(|i| header.get(i + 1));
    let family = match after("family") {
        Some(&"inet") => Family::V4,
        Some(&"inet6") => Family::V6,
        _ => return Err(bad("no family")),
    };
    let timeout = match after("timeout") {
        Some(t) => Some(t.parse().map_err(|_| bad("a timeout that is not a number"))?),
        None => None,
    };
    let refs = field("References:")
        .and_then(|r| r.parse().ok())
        .ok_or_else(|| bad("no count of references"))?;
    Ok((Live { name: name.to_owned(), backend: Backend::Ipset, family, timeout }, refs))
}

impl Live {
    /// Refuse an address of the other family before anything is changed.
    pub fn check(&self, addrs: &[IpAddr]) -> Result<(), DeployError> {
        let wrong: Vec<String> = addrs
            .iter()
            .filter(|a| a.is_ipv6() != (self.family == Family::V6))
            .map(ToString::to_string)
            .collect();
        if wrong.is_empty() {
            return Ok(());
        }
        let fam = if self.family == Family::V6 { "ipv6" } else { "ipv4" };
        Err(DeployError::Set(format!(
            "set `{}` holds {fam} addresses; {} cannot go in it: nothing was added",
            self.name,
            wrong.join(", ")
        )))
    }

    /// Add `addrs` with the set's own timeout; one already there stays
    /// (ipset: its timeout starts again).
    pub fn add(&self, addrs: &[IpAddr]) -> Result<(), DeployError> {
        self.check(addrs)?;
        if addrs.is_empty() {
            return Ok(());
        }
        match self.backend {
            Backend::Nft => {
                let list: Vec<String> = addrs.iter().map(ToString::to_string).collect();
                let doc =
                    format!("add element inet rampart {} {{ {} }}\n", self.name, list.join(", "));
                run("nft", &["-f", "-"], Some(&doc)).map(|_| ())
            }
            Backend::Ipset => {
                let doc: String =
                    addrs.iter().map(|a| format!("add {} {a} -exist\n", self.name)).collect();
                run("ipset", &["restore"], Some(&doc)).map(|_| ())
            }
        }
    }

    /// Take `addrs` out; those that were not in the set (expired, never
    /// added) are returned.
    pub fn remove(&self, addrs: &[IpAddr]) -> Result<Vec<IpAddr>, DeployError> {
        self.check(addrs)?;
        let mut absent = Vec::new();
        for a in addrs {
            let text = a.to_string();
            let res = match self.backend {
                Backend::Nft => {
                    let elem = format!("{{ {text} }}");
                    run("nft", &["delete", "element", "inet", "rampart", &self.name, &elem], None)
                }
                Backend::Ipset => run("ipset", &["del", &self.name, &text], None),
            };
            match res {
                Ok(_) => {}
                Err(DeployError::Tool(rampart_os::ToolError::Failed { stderr, .. }))
                    if stderr.contains("No such file or directory")
                        || stderr.contains("it's not added") =>
                {
                    absent.push(*a);
                }
                Err(e) => return Err(e),
            }
        }
        Ok(absent)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn elements_of_a_listing() {
        let json = r#"{"nftables": [{"metainfo": {}}, {"set": {"family": "inet", "name": "blocklist", "table": "rampart", "type": "ipv4_addr", "flags": ["timeout"], "timeout": 3600, "elem": [{"elem": {"val": "10.1.1.1", "expires": 3599}}, {"elem": {"val": "10.1.1.2", "timeout": 60, "expires": 59}}, "10.1.1.3"]}}]}"#;
        assert_eq!(
            super::live_elements(json).unwrap(),
            [
                "10.1.1.1 timeout 3600s expires 3599s",
                "10.1.1.2 timeout 60s expires 59s",
                "10.1.1.3 timeout 3600s"
            ]
        );
        let odd = json.replace(r#""10.1.1.3""#, r#"{"prefix": {"addr": "10.0.0.0", "len": 8}}"#);
        assert!(super::live_elements(&odd).is_err());
        let policy = r#"{"nftables": [{"set": {"name": "guests", "elem": ["10.0.0.1"]}}]}"#;
        assert!(super::live_elements(policy).unwrap().is_empty());
    }

    #[test]
    fn an_ipset_header() {
        let text = "Name: bl\nType: hash:ip\nRevision: 6\nHeader: family inet6 hashsize 1024 maxelem 65536 timeout 60 bucketsize 12 initval 0x1\nSize in memory: 216\nReferences: 2\nNumber of entries: 0\n";
        let (set, refs) = super::ipset_header("bl", text).unwrap();
        assert_eq!((set.family, set.timeout, refs), (rampart_ir::Family::V6, Some(60), 2));
        let net = text.replace("hash:ip", "hash:net");
        assert!(super::ipset_header("bl", &net).is_err());
        assert!(super::ipset_header("bl", &text.replace("family inet6 ", "")).is_err());
    }
}
