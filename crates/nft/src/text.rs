//! Quoting and naming for nft's scanner.

/// A double-quoted nft string of at most `max` bytes.
///
/// nft's quoted strings have no escapes, so `"` becomes `'` and control
/// characters become spaces.
pub(crate) fn quote(s: &str, max: usize) -> String {
    let mut out = String::with_capacity(s.len().min(max) + 2);
    out.push('"');
    let mut len = 0;
    for c in s.chars() {
        let c = match c {
            '"' => '\'',
            c if c.is_control() => ' ',
            c => c,
        };
        if len + c.len_utf8() > max {
            break;
        }
        len += c.len_utf8();
        out.push(c);
    }
    out.push('"');
    out
}

/// Words the nft scanner reads as keywords in a chain or set name position.
/// Names are case-sensitive, so only all-lowercase names can clash.
const KEYWORDS: &[&str] = &[
    "accept",
    "add",
    "ah",
    "all",
    "arp",
    "at",
    "bridge",
    "chain",
    "comment",
    "continue",
    "counter",
    "create",
    "ct",
    "day",
    "dccp",
    "define",
    "delete",
    "destroy",
    "drop",
    "dnat",
    "esp",
    "ether",
    "filter",
    "flags",
    "flow",
    "flush",
    "forward",
    "goto",
    "group",
    "handle",
    "hook",
    "hour",
    "icmp",
    "icmpv6",
    "igmp",
    "include",
    "index",
    "inet",
    "ingress",
    "input",
    "insert",
    "interval",
    "ip",
    "ip6",
    "jump",
    "level",
    "limit",
    "list",
    "log",
    "map",
    "mark",
    "masquerade",
    "meta",
    "monitor",
    "nat",
    "netdev",
    "notrack",
    "output",
    "policy",
    "position",
    "postrouting",
    "prefix",
    "prerouting",
    "priority",
    "queue",
    "quota",
    "redirect",
    "reject",
    "rename",
    "replace",
    "reset",
    "return",
    "route",
    "rule",
    "sctp",
    "set",
    "snat",
    "table",
    "tcp",
    "th",
    "type",
    "udp",
    "udplite",
    "vlan",
    "vmap",
];

/// A chain or set name nft accepts: `[A-Za-z_][A-Za-z0-9_]*`, not a keyword.
pub(crate) fn ident(name: &str) -> String {
    let mut out: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_') {
        out.insert(0, '_');
    }
    if KEYWORDS.contains(&out.as_str()) {
        out.push_str("_rs");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_without_escapes() {
        assert_eq!(quote("say \"hi\"\n", 128), "\"say 'hi' \"");
        assert_eq!(quote("abcdef", 3), "\"abc\"");
        assert_eq!(quote("é", 1), "\"\"");
    }

    #[test]
    fn names() {
        assert_eq!(ident("Spice_VM_1"), "Spice_VM_1");
        assert_eq!(ident("web servers"), "web_servers");
        assert_eq!(ident("1st"), "_1st");
        assert_eq!(ident("filter"), "filter_rs");
        assert_eq!(ident("Filter"), "Filter");
    }
}
