//! Every model error and warning, in one place. Codes E02xx are errors in
//! objects and rules, W03xx are warnings; E04xx and W04xx are about
//! limits, marks and log prefixes.

use rampart_diag::{Diagnostic, Span};

pub(crate) fn unknown_name(kind: &str, name: &str, span: Span, hint: &str) -> Diagnostic {
    Diagnostic::error("E0201", format!("unknown {kind} `{name}`"))
        .with_label(span, "not defined in this policy or its includes")
        .with_help(hint)
}

pub(crate) fn duplicate_name(name: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0202", format!("`{name}` is defined twice"))
        .with_label(span, "defined again here")
        .with_label(first, "first defined here")
        .with_help("every object, user and firewall needs its own name")
}

pub(crate) fn group_too_deep(name: &str, span: Span, max: usize) -> Diagnostic {
    Diagnostic::error("E0251", format!("groups nest more than {max} deep at `{name}`"))
        .with_label(span, "this member is one level too deep")
        .with_help("flatten the groups: list the members in fewer levels")
}

pub(crate) fn group_cycle(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0203", format!("group `{name}` contains itself"))
        .with_label(span, "this member leads back to the group")
        .with_help("remove the member that closes the loop")
}

pub(crate) fn bad_address(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0204", format!("`{text}` is not an IP address"))
        .with_label(span, "expected an address such as 192.168.2.2 or 2001:db8::1")
}

pub(crate) fn bad_range(first: &str, last: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0280", format!("`{first}-{last}` is not a valid range"))
        .with_label(span, "both ends must be of one family, the first not above the last")
}

pub(crate) fn bad_network(text: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0205", format!("`{text}` is not a valid network"))
        .with_label(span, why)
        .with_help("write a network as ADDRESS/LENGTH, e.g. 192.168.2.0/24 or 2001:db8::/32")
}

pub(crate) fn bad_port(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0206", format!("`{text}` is not a port or port range"))
        .with_label(span, "ports are 0–65535; a range is FIRST-LAST with FIRST <= LAST")
}

pub(crate) fn unknown_ruleset(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0207", format!("unknown rule set `{name}`"))
        .with_label(span, "no rule set of this name in this firewall")
        .with_help(format!("add `ruleset {name} {{ ... }}` to the firewall, or fix the name"))
}

pub(crate) fn user_on_incoming(span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0208", "user match on traffic the firewall does not send")
        .with_label(span, why)
        .with_help(
            "the kernel knows the owner only of packets this host sends (OUTPUT); \
             remove `in` or `to` the firewall, or drop the `user` clause",
        )
}

pub(crate) fn log_prefix_too_long(prefix: &str, number: u32, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0209",
        format!(
            "log prefix of rule {number} is {} bytes, more than 29: \"{prefix}\"",
            prefix.len()
        ),
    )
    .with_label(span, "this rule logs")
    .with_help(
        "shorten the rule's `log prefix`, or the firewall's `log-prefix` template or the rule \
         set name it uses (%C)",
    )
}

/// `bridge`: the bridge `name` is a port of, when it is one.
pub(crate) fn unknown_interface(name: &str, firewall: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0210", format!("firewall `{firewall}` has no interface `{name}`"))
        .with_label(span, "unknown interface")
        .with_help(format!(
            "declare it with `interface {name} ...` inside `firewall {firewall}`, or as a \
             bridge or a port of one"
        ))
}

pub(crate) fn missing_main(firewall: &str, entry: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0212", format!("firewall `{firewall}` has no `{entry}` rule set"))
        .with_label(span, format!("the entry rule set is `{entry}`"))
        .with_help(format!(
            "write `ruleset {entry} {{ ... }}`, or name the entry rule set with `entry NAME`"
        ))
}

pub(crate) fn bad_icmp(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0213", format!("`{text}` is not an ICMP type"))
        .with_label(span, "expected a name such as echo-request, a type (3) or type/code (11/1)")
}

pub(crate) fn wrong_kind(name: &str, is: &str, wanted: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0214", format!("`{name}` is {is}, not {wanted}"))
        .with_label(span, format!("{wanted} expected here"))
}

pub(crate) fn bad_option(key: &str, span: Span, expected: &str) -> Diagnostic {
    Diagnostic::error("E0215", format!("bad value for option `{key}`"))
        .with_label(span, format!("expected {expected}"))
}

pub(crate) fn unknown_action(word: &str, span: Span) -> Diagnostic {
    // Each action, and the words other firewalls use for it.
    const ACTIONS: [(&str, &str); 11] = [
        ("accept", "accept"),
        ("allow", "accept"),
        ("permit", "accept"),
        ("pass", "accept"),
        ("deny", "deny"),
        ("block", "deny"),
        ("reject", "reject"),
        ("branch", "branch"),
        ("continue", "continue"),
        ("return", "return"),
        ("antispoof", "antispoof"),
    ];
    let meant = ACTIONS.iter().find(|(w, _)| *w == word).map(|(_, a)| *a).or_else(|| {
        let near = rampart_diag::closest(word, ACTIONS.map(|(w, _)| w))?;
        ACTIONS.iter().find(|(w, _)| *w == near).map(|(_, a)| *a)
    });
    let help = "actions: accept, deny, reject [with REPLY], branch RULESET, continue, return, antispoof IFACE";
    Diagnostic::error("E0216", format!("unknown action `{word}`"))
        .with_label(span, "not an action")
        .with_help(match meant {
            Some(a) => format!("did you mean `{a}`? {help}"),
            None => help.to_owned(),
        })
}

pub(crate) fn mixed_group(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0217", format!("group `{name}` mixes addresses and services"))
        .with_label(span, "this member is of the other kind")
        .with_help("put addresses and services in separate groups")
}

pub(crate) fn include_failed(path: &str, span: Span, err: &str) -> Diagnostic {
    Diagnostic::error("E0218", format!("cannot read included file `{path}`: {err}"))
        .with_label(span, "included here")
}

pub(crate) fn not_a_policy(first_error: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0245", "the included file is not a policy: not one statement could be read")
        .with_label(span, "included here")
        .with_help(format!(
            "its content is not shown; the first problem is at {first_error}: check the path"
        ))
}

pub(crate) fn include_cycle(path: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0219", format!("`{path}` is already included"))
        .with_label(span, "this include would read the file a second time")
}

pub(crate) fn branch_cycle(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0220", format!("rule set `{name}` branches back into itself"))
        .with_label(span, "this branch closes a loop")
        .with_help("netfilter refuses chains that jump in a circle")
}

pub(crate) fn bad_number(what: &str, text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0221", format!("`{text}` is not a valid {what}"))
        .with_label(span, format!("{what} expected"))
}

pub(crate) fn misplaced(what: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0222", format!("{what} is not allowed here")).with_label(span, why)
}

pub(crate) fn duplicate_ruleset(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0223", format!("rule set `{name}` is defined twice in this firewall"))
        .with_label(span, "defined again here")
}

pub(crate) fn bad_weekday(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0240", format!("`{text}` is not a weekday"))
        .with_label(span, "expected mon, tue, wed, thu, fri, sat, sun or a range such as mon-fri")
}

pub(crate) fn bad_time(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0241", format!("`{text}` is not a daily time window"))
        .with_label(span, "expected HH:MM-HH:MM, e.g. 08:00-18:00 (24:00 ends the day)")
        .with_help(
            "times are UTC, as the kernel's time match sees them; a window may wrap midnight",
        )
}

pub(crate) fn bad_access(key: &str, span: Span, expected: &str) -> Diagnostic {
    Diagnostic::error("E0242", format!("bad `{key}` in access declaration"))
        .with_label(span, format!("expected {expected}"))
}

pub(crate) fn second_console(user: &str, span: Span, first: Span) -> Diagnostic {
    Diagnostic::error("E0243", format!("user `{user}` is given a second console"))
        .with_label(span, "second console here")
        .with_label(first, "first console here")
        .with_help("one user, one console: the launcher picks the console by the caller's UID")
}

pub(crate) fn port_outside_consoles(port: u16, span: Span) -> Diagnostic {
    Diagnostic::error("E0244", format!("port {port} is not one of the `consoles` ports"))
        .with_label(span, "this console is outside the range everyone else is denied")
        .with_help("widen `consoles`, or fix the port")
}

pub(crate) fn every_protocol_not_alone(word: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0260", format!("`{word}` (every protocol) beside other clauses"))
        .with_label(span, "this clause alone already matches every protocol")
        .with_help(
            "for every port or type of one protocol write it after the protocol \
             (`tcp any`, `icmp any`); for every protocol, `any` must be the service's only clause",
        )
}

pub(crate) fn any_beside_values(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0261", format!("`any` beside other {what}"))
        .with_label(span, "`any` already means every value here")
        .with_help("write `any` alone, or list only the values meant")
}

pub(crate) fn not_any(span: Span) -> Diagnostic {
    Diagnostic::error("E0262", "`not any` matches nothing")
        .with_label(span, "a rule with this column could never match")
        .with_help("remove the column to match everything, or delete the rule")
}

pub(crate) fn unused_ruleset(name: &str, span: Span) -> Diagnostic {
    Diagnostic::warning("W0302", format!("rule set `{name}` is never branched to"))
        .with_label(span, "no rule branches here, so it is not compiled")
}

pub(crate) fn unguarded_port(port: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::warning("W0303", format!("bridge port `{port}` is left without guard"))
        .with_label(span, why)
        .with_help("declare the link on both ends: `border A to B` on one bridge, `border B to A` on the other")
}

pub(crate) fn address_on_two_ports(
    addr: &str,
    first: &str,
    second: &str,
    span: Span,
) -> Diagnostic {
    Diagnostic::warning("W0304", format!("{addr} is bound to two guest ports, `{first}` and `{second}`"))
        .with_label(span, "second port with this address")
        .with_help("a guest address belongs behind one port; the guards of both ports now contradict each other")
}

pub(crate) fn bad_name(kind: &str, name: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0250", format!("{kind} name `{name}` cannot be used"))
        .with_label(span, "this name")
        .with_help(why)
}

pub(crate) fn unknown_nat_action(word: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0290", format!("`{word}` is not a NAT rule"))
        .with_label(span, "unknown NAT action")
        .with_help(
            "a rule in `nat { }` is masquerade, snat to ADDR, dnat to ADDR[:PORT], \
             redirect to PORT or no-nat; filter rules go in a `ruleset`",
        )
}

pub(crate) fn bad_translation(text: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0291", format!("cannot translate to `{text}`")).with_label(span, why)
}

pub(crate) fn nat_needs_interface(span: Span) -> Diagnostic {
    Diagnostic::error("E0292", "masquerade without an interface")
        .with_label(span, "masquerade takes the address of the interface packets leave by")
        .with_help("add `on IFACE`, e.g. `masquerade on eth0`")
}

pub(crate) fn nat_on_loopback(iface: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0293", format!("source NAT on the loopback interface `{iface}`"))
        .with_label(span, "nothing leaves the host by the loopback interface")
        .with_help("name the interface towards the network the addresses must be hidden from")
}

pub(crate) fn nat_family(addr: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0294", format!("translation to {addr} for addresses of the other family"))
        .with_label(span, "every address of this column is of the other family")
        .with_help("IPv4 translates to IPv4 and IPv6 to IPv6; write a rule per family")
}

pub(crate) fn nat_port_without_service(span: Span) -> Diagnostic {
    Diagnostic::error("E0295", "a port translation needs a TCP or UDP service")
        .with_label(span, "ports exist only for TCP and UDP")
        .with_help("add `service NAME` with TCP or UDP ports (only those), e.g. `service http`")
}

pub(crate) fn dnat_unreachable(addr: &str, span: Span) -> Diagnostic {
    Diagnostic::warning(
        "W0310",
        format!("dnat to {addr}, which no interface of the firewall reaches"),
    )
    .with_label(span, "not in the network of any interface")
    .with_help("check the address, or give the interface towards it its address and length")
}

pub(crate) fn forward_not_accepted(
    number: u32,
    addr: &str,
    span: Span,
    forward: bool,
) -> Diagnostic {
    let label = if forward {
        "no accept rule lets the translated connections through"
    } else {
        "forwarding is off (`forward on` turns it on)"
    };
    Diagnostic::warning(
        "W0311",
        format!("the port forward of rule {number} is dropped by the filter rules"),
    )
    .with_label(span, label)
    .with_help(format!(
        "Rampart does not open the forward path by itself: filter rules see the translated \
             packet, so add e.g. `accept to {addr} service ...` to a rule set"
    ))
}

pub(crate) fn no_addresses(span: Span) -> Diagnostic {
    Diagnostic::error("E0281", "this address column holds no address")
        .with_label(span, "empty once expanded: read as `any`, it would match every address")
        .with_help("put addresses in the group, write `self` for the firewall, or remove the rule")
}

pub(crate) fn dynamic_firewall_in_column(name: &str, firewall: &str, span: Span) -> Diagnostic {
    Diagnostic::warning(
        "W0305",
        format!("`{name}` holds firewall `{firewall}`, whose dynamic addresses are unknown"),
    )
    .with_label(span, "the rule matches only the addresses known when compiling")
    .with_help("give the interface its address, or write `self` in the firewall's own rules")
}

pub(crate) fn ruleset_is_iptables_name(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0270", format!("rule set name `{name}` is an iptables target or chain"))
        .with_label(span, "iptables reads this chain name as something else")
        .with_help(
            "a branch to it would run that target (or the built-in chain) instead of the \
             rule set: choose another name",
        )
}

pub(crate) fn ruleset_first_character(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0271", format!("rule set name `{name}` cannot start a chain name"))
        .with_label(span, "iptables takes a chain name starting with `-` as an option")
        .with_help("start the name with a letter, digit or `_`")
}

pub(crate) fn ruleset_too_long(name: &str, span: Span, max: usize) -> Diagnostic {
    Diagnostic::error(
        "E0272",
        format!("rule set name `{name}` is {} bytes, more than {max}", name.len()),
    )
    .with_label(span, "too long for a chain name once `_fwd` is added")
    .with_help(format!(
        "iptables takes chain names of at most {} bytes, and a rule set entered from several \
         hooks becomes NAME_in, NAME_fwd, NAME_out: shorten the name",
        crate::names::MAX_CHAIN
    ))
}

/// `owner`: the rule set whose chain (`owner_in`...) the name would be.
pub(crate) fn ruleset_is_rampart_chain(name: &str, span: Span, owner: Option<&str>) -> Diagnostic {
    let label = match owner {
        Some(o) => format!("rule set `{o}` entered from several hooks has a chain of this name"),
        None => "Rampart names its own chains R<n>_..., RULE_<n> and rampart-...".to_owned(),
    };
    Diagnostic::error("E0273", format!("rule set name `{name}` is the name of another chain"))
        .with_label(span, label)
        .with_help("two chains of one name would be one chain: choose another name")
}

pub(crate) fn bad_interface_name(name: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0274", format!("`{name}` cannot be the name of an interface"))
        .with_label(span, why)
        .with_help(
            "the kernel never gives an interface this name, so rules on it would never \
             match (and iptables refuses names over 15 bytes): use the name `ip link` shows",
        )
}

pub(crate) fn reserved_id(what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0275", format!("{what} 4294967295 is (uid_t) -1, which no process has"))
        .with_label(span, "the kernel reserves this value to mean `no id`")
        .with_help("iptables refuses it and an nft rule with it never matches: use the real id")
}

pub(crate) fn bad_rate(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0400", format!("`{text}` is not a rate"))
        .with_label(span, "expected COUNT/UNIT")
        .with_help("write a count of packets per second, minute, hour or day: 3/minute, 10/second")
}

pub(crate) fn limit_out_of_range(what: &str, text: &str, span: Span, range: &str) -> Diagnostic {
    Diagnostic::error("E0401", format!("{what} `{text}` is out of range"))
        .with_label(span, format!("the kernel takes {range}"))
}

pub(crate) fn log_limit_without_log(span: Span) -> Diagnostic {
    Diagnostic::error("E0402", "`log-limit` on a rule that does not log")
        .with_label(span, "this rule writes no log line to limit")
        .with_help("add `log` to the rule, or leave `log-limit` out")
}

pub(crate) fn limit_on_deny(span: Span) -> Diagnostic {
    Diagnostic::warning("W0400", "this rule drops only the packets under its limit")
        .with_label(span, "packets over this limit are not matched and go on to the next rule")
        .with_help(
            "to drop what comes too fast, accept under the limit instead \
             (`accept service ssh limit 3/minute per source`): the rest meets the catch-all",
        )
}

pub(crate) fn port_is_interface(name: &str, bridge: &str, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0440",
        format!("`{name}` is both an interface and a port of bridge `{bridge}`"),
    )
    .with_label(span, "declared as an interface too")
    .with_help(format!(
        "`on {name}` could mean `-i {name}` or the bridge port; a port is not an interface \
         of the host: remove its `interface` line"
    ))
}

pub(crate) fn negated_port_out(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0441", format!("`on not` with bridge port `{name}` needs `in`"))
        .with_label(span, "negated outgoing bridge port")
        .with_help(
            "the kernel tells the outgoing port only of bridged packets, so `not PORT` could \
             not cover routed ones: add `in`, or name the ports the rule is for",
        )
}

pub(crate) fn port_not_here(name: &str, bridge: &str, what: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0442", format!("{what} cannot name bridge port `{name}`"))
        .with_label(span, format!("a port of bridge `{bridge}`"))
        .with_help(format!("name the bridge instead: `{bridge}`"))
}

pub(crate) fn port_misses_own_packets(name: &str, bridge: &str, span: Span) -> Diagnostic {
    Diagnostic::warning(
        "W0420",
        format!("`on {name}` does not match the firewall's own packets leaving through it"),
    )
    .with_label(span, "a bridge port")
    .with_help(format!(
        "OUTPUT knows only the bridge a packet leaves by, not the port: the rule applies to \
         bridged and incoming packets; for the firewall's own, add a rule `on {bridge} out`, \
         or write `in`, or a source that is not the firewall, to say that is meant"
    ))
}

pub(crate) fn bad_expected_verdict(word: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0600", format!("`expect {word}` is not an expectation"))
        .with_label(span, "not a verdict")
        .with_help("expect accept, deny (or drop) or reject, followed by from, to, service and on")
}

pub(crate) fn log_prefix_taken(
    prefix: &str,
    span: Span,
    other: u32,
    other_span: Option<Span>,
) -> Diagnostic {
    let d = Diagnostic::error("E0403", format!("log prefix \"{prefix}\" also names rule {other}"))
        .with_label(span, "this rule's log lines could not be told from the other rule's")
        .with_help(
            "give the rule a prefix of its own (`log prefix \"...\"`, `%N` adds its number)",
        );
    match other_span {
        Some(s) => d.with_label(s, "the other rule"),
        None => d,
    }
}

pub(crate) fn bad_log_prefix(text: &str, span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0404", format!("`{text}` cannot be a log prefix"))
        .with_label(span, why)
        .with_help(
            "printable ASCII without `\"` or `\\`; placeholders %N (rule number), %A (action), \
             %C (rule set), %I (interface), %% (a percent sign)",
        )
}

pub(crate) fn table_line(span: Span) -> Diagnostic {
    Diagnostic::error("E0480", "more than one word on a line of an address table")
        .with_label(span, "one address, network or range a line")
        .with_help("`10.0.0.1`, `192.0.2.0/24` or `10.0.0.1-10.0.0.9`; `#` starts a comment")
}

pub(crate) fn table_bidi(c: char, span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0741",
        format!("bidirectional mark {} in an address table", c.escape_unicode()),
    )
    .with_label(span, "reorders the line around it")
    .with_help("remove the character; a direction mark can make a line read other than it does")
}

pub(crate) fn table_unreadable(path: &str, span: Span, err: &str) -> Diagnostic {
    Diagnostic::error("E0481", format!("cannot read address table `{path}`: {err}"))
        .with_label(span, "read from here")
        .with_help("the path is relative to the policy file that names it")
}

pub(crate) fn bad_set(span: Span, expected: &str) -> Diagnostic {
    Diagnostic::error("E0450", "bad set declaration")
        .with_label(span, expected)
        .with_help("`set blocklist ipv4 timeout 1h size 65536`")
}

pub(crate) fn set_beside_addresses(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0451", format!("run-time set `{name}` beside other addresses"))
        .with_label(span, "a column with a run-time set names only that set")
        .with_help("write one rule for the set and one for the other addresses")
}

pub(crate) fn set_in_nat(name: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0452", format!("run-time set `{name}` in a NAT rule"))
        .with_label(span, "NAT takes addresses known when compiling")
        .with_help(
            "a connection is translated once, by its first packet: filter on the set in a rule \
             of a rule set instead",
        )
}

pub(crate) fn bad_mark(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0405", format!("`{text}` is not a mark"))
        .with_label(span, "expected a number, or VALUE/MASK")
        .with_help("a 32-bit number, decimal or hexadecimal: `1`, `0x10`, `0x10/0xf0`")
}

pub(crate) fn bad_tcp_flag(text: &str, span: Span) -> Diagnostic {
    Diagnostic::error("E0406", format!("`{text}` is not a TCP flag"))
        .with_label(span, "expected a flag, or `no-` and a flag")
        .with_help("fin, syn, rst, psh, ack, urg, ece, cwr; `no-ack` says ACK must be clear")
}

pub(crate) fn tcp_flags_without_tcp(span: Span) -> Diagnostic {
    Diagnostic::error("E0407", "`tcp-flags` on a service that is not TCP")
        .with_label(span, "only TCP packets have these flags")
        .with_help("give the rule TCP services only, or none (then it matches TCP)")
}

pub(crate) fn mark_misplaced(span: Span, why: &str) -> Diagnostic {
    Diagnostic::error("E0408", "a mark cannot be set here").with_label(span, why).with_help(
        "marks are set before routing, so that `ip rule fwmark` sees them: in the entry \
             rule set, on packets as they arrive (`on IFACE in`) or as the firewall sends them",
    )
}

pub(crate) fn plain_port_beside_border(
    port: &str,
    border: &str,
    bridge: &str,
    span: Span,
) -> Diagnostic {
    Diagnostic::error(
        "E0350",
        format!("plain port `{port}` and border port `{border}` on one bridge `{bridge}`"),
    )
    .with_label(span, "nothing is known beyond this port")
    .with_help(format!(
        "the guards of `{border}` take what lies beyond the bridge's other ports as its side, \
         and beyond `{port}` lies any address: make `{port}` a `guest` with its addresses, or \
         put it on a bridge without border ports"
    ))
}
