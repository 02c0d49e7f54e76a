//! Run-time sets (`set NAME ipv4`): their elements are not the policy's
//! (fail2ban or `rampart logs blocklist --apply` put them there), so a
//! load keeps them. iptables: each ipset is created, if missing, before
//! the rules that match it. nft: the document replaces the table, so the
//! live elements are added back in the same transaction.

use rampart_ir::{DynSet, Restricted};
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
    let v: Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    let set = v["nftables"]
        .as_array()
        .and_then(|a| a.iter().find_map(|o| o.get("set")))
        .ok_or("no set in the listing")?;
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
}
