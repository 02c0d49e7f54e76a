//! The nftables backend: Rampart's own tables, listed, replaced and
//! restored with `nft -f`, each in one transaction.

use std::collections::BTreeMap;

use crate::DeployError;
use crate::iptables::run;

/// Every table Rampart may create; nothing else is ever touched.
pub const TABLES: [&str; 3] = ["inet rampart", "bridge rampart", "bridge rampart_arp"];

/// Lines that empty Rampart's tables in the same transaction as what follows,
/// whether or not they exist yet.
#[must_use]
pub fn replace_prefix() -> String {
    TABLES.iter().map(|t| format!("table {t} {{}}\ndelete table {t}\n")).collect()
}

/// Rampart's tables as the kernel lists them (empty when there are none).
pub fn listing() -> Result<String, DeployError> {
    let tables = run("nft", &["list", "tables"], None)?;
    let mut out = String::new();
    for t in TABLES {
        if tables.lines().any(|l| l.trim() == format!("table {t}")) {
            let (family, name) = t.split_once(' ').expect("family and name");
            out.push_str(&run("nft", &["list", "table", family, name], None)?);
        }
    }
    Ok(out)
}

/// Load a document in one transaction.
pub fn load(doc: &str) -> Result<(), DeployError> {
    run("nft", &["-f", "-"], Some(doc)).map(drop)
}

/// Lines per block (`inet rampart chain input`, `inet rampart set guests`) of a
/// listing, for comparing two of them.
#[must_use]
pub fn blocks(listing: &str) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut table = String::new();
    let mut block: Option<String> = None;
    for line in listing.lines().map(str::trim) {
        if let Some(t) = line.strip_prefix("table ").and_then(|t| t.strip_suffix(" {")) {
            table = t.to_owned();
        } else if let Some(b) = ["chain ", "set ", "map "].iter().find_map(|k| {
            line.strip_prefix(k).and_then(|n| n.strip_suffix(" {")).map(|n| format!("{k}{n}"))
        }) {
            block = Some(format!("{table} {}", b.trim()));
        } else if line == "}" {
            block = None;
        } else if let (Some(b), false) = (&block, line.is_empty()) {
            out.entry(b.clone()).or_default().push(line.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_of_a_listing() {
        let l = "table inet rampart {\n\tset guests {\n\t\ttype ipv4_addr\n\t\telements = { 10.0.0.1 }\n\t}\n\n\tchain input {\n\t\ttype filter hook input priority filter; policy drop;\n\t\tct state established accept\n\t}\n}\n";
        let b = blocks(l);
        assert_eq!(
            b["inet rampart chain input"],
            vec![
                "type filter hook input priority filter; policy drop;",
                "ct state established accept"
            ]
        );
        assert_eq!(b["inet rampart set guests"].len(), 2);
        assert!(replace_prefix().starts_with("table inet rampart {}\ndelete table inet rampart\n"));
    }
}
