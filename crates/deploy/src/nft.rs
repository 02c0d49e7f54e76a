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

/// Refuse an `nft -f` document that could touch anything but Rampart's
/// tables: every top-level statement must name one of [`TABLES`] (`table
/// inet rampart { ... }`, `delete table bridge rampart`, `add rule inet
/// rampart input ...`); `flush ruleset`, other tables, `include` and
/// `define` are refused with the line they are on.
pub fn check_scope(doc: &str) -> Result<(), String> {
    const VERBS: [&str; 8] =
        ["add", "create", "insert", "replace", "delete", "destroy", "flush", "reset"];
    let mut depth = 0usize;
    let mut statement = String::new();
    let mut line = 1;
    let mut start = 1;
    let check = |text: &str, at: usize| -> Result<(), String> {
        let words: Vec<&str> = text.split_whitespace().collect();
        let words = match words.first() {
            None => return Ok(()),
            Some(v) if VERBS.contains(v) => &words[1..],
            Some(_) => &words[..],
        };
        let ours = match words {
            [_, family, name, ..] => TABLES.contains(&format!("{family} {name}").as_str()),
            _ => false,
        };
        if ours && words[0] != "ruleset" {
            Ok(())
        } else {
            Err(format!("line {at}: `{}` touches more than Rampart's own tables", text.trim()))
        }
    };
    // The text outside strings and comments.
    let mut code = String::new();
    let mut chars = doc.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' => {
                // A string (a comment, a log prefix): braces in it do not count.
                for s in chars.by_ref() {
                    if s == '\n' {
                        line += 1;
                    }
                    if s == '"' {
                        break;
                    }
                }
                if depth == 0 {
                    statement.push_str("\"\"");
                }
            }
            '#' => {
                for s in chars.by_ref() {
                    if s == '\n' {
                        line += 1;
                        break;
                    }
                }
                if depth == 0 {
                    check(&std::mem::take(&mut statement), start)?;
                }
            }
            '{' => {
                if depth == 0 {
                    check(&std::mem::take(&mut statement), start)?;
                }
                depth += 1;
            }
            '}' => {
                depth = depth.checked_sub(1).ok_or(format!("line {line}: `}}` closes nothing"))?
            }
            '\n' | ';' if depth == 0 => {
                check(&std::mem::take(&mut statement), start)?;
                if c == '\n' {
                    line += 1;
                }
            }
            '\n' => line += 1,
            _ if depth == 0 => {
                if statement.trim().is_empty() {
                    start = line;
                }
                statement.push(c);
            }
            _ => {}
        }
        if !matches!(c, '"' | '#') {
            code.push(c);
        }
    }
    if depth != 0 {
        return Err("the document ends inside a block".into());
    }
    check(&statement, start)?;
    // At any depth, `include` pulls in text this check never sees.
    if code.split(|c: char| !c.is_alphanumeric()).any(|w| w == "include") {
        return Err("`include` pulls in text nobody checked".into());
    }
    Ok(())
}

/// Those of Rampart's tables that exist, as `family name`.
pub fn present() -> Result<Vec<&'static str>, DeployError> {
    let tables = run("nft", &["list", "tables"], None)?;
    Ok(TABLES
        .into_iter()
        .filter(|t| tables.lines().any(|l| l.trim() == format!("table {t}")))
        .collect())
}

/// Rampart's tables as the kernel lists them (empty when there are none).
pub fn listing() -> Result<String, DeployError> {
    let mut out = String::new();
    for t in present()? {
        let (family, name) = t.split_once(' ').expect("family and name");
        out.push_str(&run("nft", &["list", "table", family, name], None)?);
    }
    Ok(out)
}

/// How the kernel lists `doc`: loaded into a network namespace of its own,
/// which goes away with the command; the host's ruleset is not touched.
pub fn listed(doc: &str) -> Result<String, DeployError> {
    let mut cmd = std::process::Command::new("unshare");
    cmd.args(["--net", "--", "sh", "-c", "nft -f - && nft list ruleset"]).env("TZ", "UTC");
    rampart_os::run(&mut cmd, "util-linux", Some(doc)).map_err(|e| match &e {
        // The namespace itself was refused (a container without
        // CAP_SYS_ADMIN): say that, not that the document is wrong.
        rampart_os::ToolError::Failed { stderr, .. } if stderr.starts_with("unshare:") => {
            DeployError::Capability {
                what: "cannot make a throw-away network namespace to list the new nft tables \
                       in: nothing was compared; `rampart diff --backend iptables` needs no \
                       namespace"
                    .to_owned(),
                cause: Some(e),
            }
        }
        _ => crate::iptables::capability(e),
    })
}

/// Have the kernel check a document without loading it (`nft -c`).
pub fn check(doc: &str) -> Result<(), DeployError> {
    run("nft", &["-c", "-f", "-"], Some(&(replace_prefix() + doc))).map(drop)
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
    // A set with timeouts is filled at run time: its elements are no drift.
    let (mut timed, mut elements) = (false, false);
    for line in listing.lines().map(str::trim) {
        if elements {
            elements = !line.ends_with('}');
            continue;
        }
        if block.is_some()
            && (line.starts_with("timeout ")
                || line.starts_with("flags ") && line.contains("timeout"))
        {
            timed = true;
        }
        if timed && line.starts_with("elements = {") {
            elements = !line.ends_with('}');
            continue;
        }
        if let Some(t) = line.strip_prefix("table ").and_then(|t| t.strip_suffix(" {")) {
            table = t.to_owned();
        } else if let Some(b) = ["chain ", "set ", "map "].iter().find_map(|k| {
            line.strip_prefix(k).and_then(|n| n.strip_suffix(" {")).map(|n| format!("{k}{n}"))
        }) {
            block = Some(format!("{table} {}", b.trim()));
        } else if line == "}" {
            block = None;
            timed = false;
        } else if let (Some(b), false) = (&block, line.is_empty()) {
            out.entry(b.clone()).or_default().push(uncounted(line));
        }
    }
    out
}

/// A listed rule without the counts of its `counter`: they change with
/// every packet, the rule does not.
fn uncounted(line: &str) -> String {
    let Some((head, tail)) = line.split_once("counter packets ") else { return line.to_owned() };
    let mut words = tail.splitn(4, ' ');
    match (words.next(), words.next(), words.next(), words.next()) {
        (Some(p), Some("bytes"), Some(b), rest)
            if [p, b].iter().all(|n| n.bytes().all(|c| c.is_ascii_digit())) =>
        {
            format!("{head}counter{}", rest.map(|r| format!(" {r}")).unwrap_or_default())
        }
        _ => line.to_owned(),
    }
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
        let counted = "chain c {\n\tip saddr 10.0.0.1 counter packets 12 bytes 960 accept\n\tcounter packets 3 bytes 9\n}\n";
        assert_eq!(
            blocks(&format!("table inet rampart {{\n{counted}}}\n"))["inet rampart chain c"],
            ["ip saddr 10.0.0.1 counter accept", "counter"]
        );
        assert!(replace_prefix().starts_with("table inet rampart {}\ndelete table inet rampart\n"));
    }

    #[test]
    fn only_rampart_tables_pass_the_scope_check() {
        let ours = "# include header\ntable inet rampart {}\ndelete table inet rampart\ntable inet rampart {\n\tchain input {\n\t\tlog prefix \"} {\" drop comment \"x }\"\n\t}\n}\n";
        assert_eq!(check_scope(ours), Ok(()));
        assert_eq!(check_scope(&(replace_prefix() + ours)), Ok(()));
        for bad in [
            "flush ruleset\n",
            "table inet rampart {}; flush ruleset\n",
            "table inet filter {\n chain input { type filter hook input priority 0; policy drop; }\n}\n",
            "delete table ip nat\n",
            "table inet rampart {\n}\ninclude \"/etc/x\"\n",
            "table inet rampart {\n include \"/etc/x\"\n}\n",
            "define x = 1\n",
            "table inet rampart {\n",
            "}\n",
        ] {
            assert!(check_scope(bad).is_err(), "{bad}");
        }
    }
}
