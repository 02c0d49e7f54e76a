//! Every diagnostic of the analysis, one constructor per code.

use rampart_diag::{Diagnostic, Span};

/// `by`: the policy rules that decide first, with their spans.
pub(crate) fn shadowed(number: u32, span: Span, by: &[(u32, Option<Span>)]) -> Diagnostic {
    let d = Diagnostic::warning("W0301", format!("rule {number} can never match"))
        .with_label(span, format!("every packet it matches is decided by {} first", rules(by)));
    here(d, by).with_help("move the rule up, narrow the earlier rule, or delete this one")
}

pub(crate) fn redundant(number: u32, span: Span, by: &[(u32, Option<Span>)]) -> Diagnostic {
    let d = Diagnostic::warning("W0320", format!("rule {number} is redundant"))
        .with_label(span, format!("{} decides every packet it matches the same way", rules(by)));
    here(d, by).with_help("delete it: the rule set means the same without it")
}

pub(crate) fn correlated(number: u32, span: Span, other: (u32, Option<Span>)) -> Diagnostic {
    let d = Diagnostic::info(
        "W0321",
        format!("rules {} and {number} overlap with different verdicts", other.0),
    )
    .with_label(span, format!("the packets both match are decided by rule {} first", other.0));
    here(d, &[other])
        .with_help("the order decides the overlap: narrow one rule, or check the order is meant")
}

pub(crate) fn generalizes(number: u32, span: Span, exception: (u32, Option<Span>)) -> Diagnostic {
    let d = Diagnostic::info(
        "W0322",
        format!("rule {number} generalizes rule {} with another verdict", exception.0),
    )
    .with_label(span, format!("covers every packet of rule {}", exception.0));
    here(d, &[exception]).with_help("usually meant: an exception before a general rule")
}

/// `entry`: the rule set is the entry rule set, entered from every chain.
pub(crate) fn unplaced(number: u32, span: Span, ruleset: &str, entry: bool) -> Diagnostic {
    let why = if entry {
        "no chain sees the packets it describes".to_owned()
    } else {
        format!("no chain that branches into `{ruleset}` sees the packets it describes")
    };
    Diagnostic::warning("W0490", format!("rule {number} compiles to nothing"))
        .with_label(span, why)
        .with_help(
            "`from self` is the firewall's own packets (OUTPUT), `to self` those to it \
             (INPUT), the rest passes through (FORWARD, with `forward on`); a rule set is \
             entered only where the branch into it applies",
        )
}

fn rules(by: &[(u32, Option<Span>)]) -> String {
    let n: Vec<String> = by.iter().map(|(n, _)| n.to_string()).collect();
    match n.as_slice() {
        [one] => format!("rule {one}"),
        _ => format!("rules {} together", n.join(", ")),
    }
}

fn here(mut d: Diagnostic, rules: &[(u32, Option<Span>)]) -> Diagnostic {
    for (n, span) in rules {
        if let Some(s) = span {
            d = d.with_label(*s, format!("rule {n} is here"));
        }
    }
    d
}

/// `at`: the policy rule whose jump goes past the limit, when one has a
/// source span.
pub(crate) fn too_deep(
    form: &str,
    depth: usize,
    max: usize,
    at: Option<(u32, Span)>,
) -> Diagnostic {
    let d = Diagnostic::error(
        "E0276",
        format!("chains nest {depth} jumps deep in the {form} ruleset; the kernel follows {max}"),
    )
    .with_help(
        "branch to fewer levels of rule sets, or split a rule set with many \
         `return ... not` rules (each one nests the rest of the set a level deeper)",
    );
    match at {
        Some((rule, span)) => {
            d.with_label(span, format!("rule {rule} goes one jump past what the kernel loads"))
        }
        None => d,
    }
}

pub(crate) fn expectation_fails(
    span: Span,
    expected: &str,
    packet: &str,
    got: &str,
    by: Option<(u32, Option<Span>)>,
    count: usize,
    total: usize,
) -> Diagnostic {
    let who = match by {
        Some((0, _)) => "a rule Rampart adds (rule 0)".to_owned(),
        Some((n, _)) => format!("rule {n}"),
        None => "the chain's policy".to_owned(),
    };
    let d = Diagnostic::error("E0601", format!("expectation fails: {packet} gets {got}"))
        .with_label(span, format!("expected {expected}; {count} of {total} packet(s) differ"));
    let d = match by {
        Some((n, Some(s))) if n != 0 => d.with_label(s, format!("rule {n} decides {got}")),
        _ => d,
    };
    d.with_help(format!("{who} decides it; change the rules or the expectation"))
}

pub(crate) fn expectation_undecided(span: Span, packet: &str, rule: Option<u32>) -> Diagnostic {
    let at = rule.map_or_else(String::new, |n| format!(" (rule {n})"));
    Diagnostic::error("E0602", format!("expectation cannot be decided: {packet}"))
        .with_label(span, format!("the verdict depends on a match the evaluator cannot decide{at}"))
        .with_help(
            "time windows, marks and unknown modules depend on the moment: narrow the expectation",
        )
}

pub(crate) fn expectation_too_broad(span: Span, packets: usize, limit: usize) -> Diagnostic {
    Diagnostic::error("E0603", "expectation describes too many distinct packets to check")
        .with_label(
            span,
            format!("more than {limit} packets the rules tell apart ({packets} counted)"),
        )
        .with_help("narrow it with from, to, service or on")
}

pub(crate) fn expectation_empty(span: Span) -> Diagnostic {
    Diagnostic::error("E0604", "expectation describes no packet that crosses the firewall")
        .with_label(
            span,
            "source and destination lie behind the same interface, or the address families differ",
        )
        .with_help("check the addresses, or pin the interface with `on`")
}

pub(crate) fn spoofable(
    iface: &str,
    span: Span,
    claims: &str,
    packet: &str,
    by: Option<(u32, Option<Span>)>,
) -> Diagnostic {
    let whose = if claims == "self" {
        "the firewall's own addresses".to_owned()
    } else {
        format!("addresses behind {claims}")
    };
    let d = Diagnostic::warning("W0340", format!("{iface} accepts packets claiming {whose}"))
        .with_label(span, format!("accepted: {packet}"));
    let d = match by {
        Some((n, Some(s))) if n != 0 => d.with_label(s, format!("rule {n} accepts it")),
        _ => d,
    };
    d.with_help(format!(
        "`antispoof {iface}` drops the firewall's own addresses and other interfaces' networks; \
         `deny from not NETWORK on {iface} in` keeps only the sources that belong there"
    ))
}
