//! The readers' diagnostics, one constructor per code.

use rampart_diag::{Diagnostic, FileId, Span};

/// W0801: something read but suspicious (it is kept as written).
pub(crate) fn doubtful(span: Span, message: impl Into<String>, label: &str) -> Diagnostic {
    Diagnostic::warning("W0801", message).with_label(span, label)
}

/// E0802: the file is not a ruleset of any format the readers know. Its
/// content is not shown: a mistyped path must not print a secret.
pub(crate) fn not_a_ruleset(name: &str, what: super::Unrecognised) -> Diagnostic {
    Diagnostic::error("E0802", format!("`{name}` is not an iptables ruleset: it looks like {what}"))
        .with_help(
            "give iptables-save output or a script of $IPTABLES commands \
             (`--format save|script` forces one)",
        )
}

/// E0810: `trace --rules` was given nft JSON that does not parse.
pub(crate) fn nft_not_json(span: Span, err: &serde_json::Error) -> Diagnostic {
    Diagnostic::error("E0810", format!("not an nft JSON ruleset: {err}"))
        .with_label(span, "expected `nft -j list ruleset` output")
}

/// E0811: an object of nft JSON not in the shape libnftables-json gives.
pub(crate) fn nft_bad_object(span: Span, key: &str, err: &serde_json::Error) -> Diagnostic {
    Diagnostic::error("E0811", format!("nft ruleset: a `{key}` object: {err}"))
        .with_label(span, "not in the shape libnftables-json describes")
}

/// E0812: a `*table` line inside a table not yet committed.
pub(crate) fn table_in_table(span: Span) -> Diagnostic {
    Diagnostic::error("E0812", "table started before the previous one was committed")
        .with_label(span, "add COMMIT before this line")
}

/// E0813: a `*table` line of a table netfilter does not have.
pub(crate) fn unknown_table(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0813", format!("unknown table `{name}`"))
        .with_label(span, "tables are filter, nat, mangle, raw and security")
}

/// E0814: `COMMIT` with no table open.
pub(crate) fn commit_outside_table(span: Span) -> Diagnostic {
    Diagnostic::error("E0814", "COMMIT outside a table")
        .with_label(span, "no `*table` line before it")
}

/// E0815: a chain or rule line before any `*table` line.
pub(crate) fn line_outside_table(span: Span) -> Diagnostic {
    Diagnostic::error("E0815", "line outside a table")
        .with_label(span, "expected `*filter` (or another table) first")
}

/// E0816: a `:` line with no chain name.
pub(crate) fn chain_without_name(span: Span) -> Diagnostic {
    Diagnostic::error("E0816", "chain line without a name")
        .with_label(span, "expected `:NAME POLICY [0:0]`")
}

/// E0817: `[PACKETS:BYTES]` counters that are not two numbers.
pub(crate) fn bad_counters(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0817", format!("bad counters `{text}`"))
        .with_label(span, "expected `[PACKETS:BYTES]`")
}

/// E0818: a table whose `COMMIT` never comes: iptables-restore would load
/// none of it.
pub(crate) fn never_committed(span: Span) -> Diagnostic {
    Diagnostic::error("E0818", "table is never committed")
        .with_label(span, "add COMMIT at the end of the table")
}

/// E0819: a rule added to, or jumping to, a chain the table does not have.
pub(crate) fn no_chain(span: Span, name: &str, table: &str, label: &str) -> Diagnostic {
    Diagnostic::error("E0819", format!("no chain `{name}` in table `{table}`"))
        .with_label(span, label)
}

/// E0820: a chain policy other than ACCEPT or DROP.
pub(crate) fn bad_policy(span: Span, policy: &str) -> Diagnostic {
    Diagnostic::error("E0820", format!("unknown chain policy `{policy}`"))
        .with_label(span, "a built-in chain's policy is ACCEPT or DROP")
}

/// E0821: a policy given to a chain that is not built in.
pub(crate) fn policy_on_user_chain(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0821", format!("`{name}` is not a built-in chain of this table"))
        .with_label(span, "only built-in chains have a policy")
}

/// E0822: a command without the chain name or policy it needs.
pub(crate) fn missing_argument(span: Span, command: &str, what: &str) -> Diagnostic {
    Diagnostic::error("E0822", format!("`{command}` needs {what}")).with_label(span, "here")
}

/// E0823: `-I CHAIN N` past the end of the chain.
pub(crate) fn bad_position(span: Span, pos: usize, len: usize) -> Diagnostic {
    Diagnostic::error(
        "E0823",
        format!("cannot insert at position {pos}: the chain has {len} rules"),
    )
    .with_label(span, "here")
}

/// E0824: an iptables command the readers do not apply.
pub(crate) fn unsupported_command(span: Span, command: &str) -> Diagnostic {
    Diagnostic::error("E0824", format!("unsupported iptables command `{command}`"))
        .with_label(span, "expected -A, -I, -N, -P, -F or -X")
}

/// E0825: a shell function of the script that calls itself.
pub(crate) fn recursive_function(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0825", format!("function `{name}` calls itself")).with_label(span, "here")
}

/// E0826: iptables commands in a `case` whose branch is chosen at run time.
pub(crate) fn undecided_case(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0826",
        "iptables commands in a `case` without a `start` branch: which of them run is \
         decided when the script runs",
    )
    .with_label(span, "this case")
}

/// E0827: a variable the script never assigns.
pub(crate) fn undefined_variable(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0827", format!("undefined shell variable `${name}`"))
        .with_label(span, "not assigned earlier in this script")
}

/// E0828: an iptables command under shell logic (`if`, `&&`, a loop).
pub(crate) fn conditional_command(span: Span) -> Diagnostic {
    Diagnostic::error(
        "E0828",
        "an iptables command inside shell that decides whether or how it runs",
    )
    .with_label(span, "cannot be read without running the script")
}

/// E0829: an iptables command line with no command option.
pub(crate) fn no_command(span: Span) -> Diagnostic {
    Diagnostic::error("E0829", "iptables command without -A, -I, -N or -P").with_label(span, "here")
}

/// One of the constructors below, E0860-E0890: a word of a rule that
/// cannot be read, each kind with its code. It is given the word's span
/// and the text to name.
pub(crate) type Make = fn(Span, &str) -> Diagnostic;

/// A word (or the rest of a line) that cannot be read, found where the
/// file is not yet known: its byte span, the text to name, and the
/// constructor of its diagnostic.
#[derive(Debug)]
pub(crate) struct Unreadable {
    pub start: usize,
    pub end: usize,
    pub text: String,
    pub make: Make,
}

impl Unreadable {
    pub fn diagnostic(&self, file: FileId) -> Diagnostic {
        (self.make)(Span::new(file, self.start, self.end), &self.text)
    }
}

/// E0860: `!` as the last word of a rule.
pub(crate) fn negation_at_end(span: Span, _: &str) -> Diagnostic {
    Diagnostic::error("E0860", "`!` at the end of a rule: nothing follows to negate")
        .with_label(span, "here")
}

/// E0861: `! -m NAME`: a module is loaded, not negated.
pub(crate) fn negated_module(span: Span, opt: &str) -> Diagnostic {
    Diagnostic::error("E0861", format!("`!` cannot negate `{opt}`: negate the module's options"))
        .with_label(span, "here")
}

/// E0862: an option whose value is missing.
pub(crate) fn missing_value(span: Span, opt: &str) -> Diagnostic {
    Diagnostic::error("E0862", format!("`{opt}` needs a value")).with_label(span, "here")
}

/// E0863: `! -p all`, a match no packet passes.
pub(crate) fn never_matches(span: Span, proto: &str) -> Diagnostic {
    Diagnostic::error("E0863", format!("`! -p {proto}` never matches")).with_label(span, "here")
}

/// E0864: a protocol neither named by iptables nor in /etc/protocols.
pub(crate) fn unknown_protocol(span: Span, proto: &str) -> Diagnostic {
    Diagnostic::error("E0864", format!("unknown protocol `{proto}`")).with_label(span, "here")
}

/// E0865: `-f`: fragments are not modelled.
pub(crate) fn fragment_match(span: Span, opt: &str) -> Diagnostic {
    Diagnostic::error("E0865", format!("fragment matches (`{opt}`) are not supported"))
        .with_label(span, "here")
}

/// E0866: an option no loaded module and no protocol owns.
pub(crate) fn unknown_option(span: Span, opt: &str) -> Diagnostic {
    Diagnostic::error("E0866", format!("unknown option `{opt}`")).with_label(span, "here")
}

/// E0867: a word where an option was expected.
pub(crate) fn unexpected_word(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0867", format!("unexpected `{text}`: expected an option"))
        .with_label(span, "here")
}

/// E0868: `-s` or `-d` given twice in one rule.
pub(crate) fn given_twice(span: Span, opt: &str) -> Diagnostic {
    Diagnostic::error("E0868", format!("`{opt}` given twice")).with_label(span, "here")
}

/// E0869: an ICMP or ICMPv6 type iptables does not name.
pub(crate) fn unknown_icmp_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0869", format!("unknown ICMP type `{name}`")).with_label(span, "here")
}

/// E0870: an address type of `-m addrtype` the kernel does not have.
pub(crate) fn unknown_address_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0870", format!("unknown address type `{name}`")).with_label(span, "here")
}

/// E0871: a second `-j` or `-g` in one rule.
pub(crate) fn second_target(span: Span, opt: &str) -> Diagnostic {
    Diagnostic::error("E0871", format!("a second `{opt}`: a rule has one target"))
        .with_label(span, "here")
}

/// E0872: options after `-g CHAIN`.
pub(crate) fn goto_with_options(span: Span, text: &str) -> Diagnostic {
    Diagnostic::error("E0872", format!("`{text}` after `-g`: it takes only a chain name"))
        .with_label(span, "here")
}

/// E0873: options given to ACCEPT, DROP or RETURN.
pub(crate) fn target_without_options(span: Span, target: &str) -> Diagnostic {
    Diagnostic::error("E0873", format!("`{target}` takes no options")).with_label(span, "here")
}

/// E0874: a `--reject-with` type iptables does not have.
pub(crate) fn unknown_reject_type(span: Span, name: &str) -> Diagnostic {
    Diagnostic::error("E0874", format!("unknown reject type `{name}`")).with_label(span, "here")
}

/// E0875: a `--log-level` neither a syslog name nor 0-7.
pub(crate) fn unknown_log_level(span: Span, level: &str) -> Diagnostic {
    Diagnostic::error("E0875", format!("unknown log level `{level}`")).with_label(span, "here")
}

/// E0876: an `--nflog-group` that is not a number from 0 to 65535.
pub(crate) fn bad_nflog_group(span: Span, group: &str) -> Diagnostic {
    Diagnostic::error("E0876", format!("bad NFLOG group `{group}`")).with_label(span, "here")
}

/// E0877: a mark or mask that is not a 32-bit number.
pub(crate) fn bad_mark(span: Span, mark: &str) -> Diagnostic {
    Diagnostic::error("E0877", format!("bad mark `{mark}`")).with_label(span, "here")
}

/// E0878: a port that is neither a number nor a known service name.
pub(crate) fn bad_port(span: Span, port: &str) -> Diagnostic {
    Diagnostic::error("E0878", format!("not a port or port range: `{port}`"))
        .with_label(span, "here")
}

/// E0879: a port range whose first port is above its last.
pub(crate) fn backwards_port_range(span: Span, range: &str) -> Diagnostic {
    Diagnostic::error("E0879", format!("port range `{range}` is backwards"))
        .with_label(span, "here")
}

/// E0880: an address that does not parse.
pub(crate) fn bad_address(span: Span, addr: &str) -> Diagnostic {
    Diagnostic::error("E0880", format!("not an address: `{addr}`")).with_label(span, "here")
}

/// E0881: a prefix length or netmask that is out of range or not contiguous.
pub(crate) fn bad_mask(span: Span, addr: &str) -> Diagnostic {
    Diagnostic::error("E0881", format!("bad prefix length or netmask in `{addr}`"))
        .with_label(span, "here")
}

/// E0882: an address range that is backwards, mixes families or does not
/// parse.
pub(crate) fn bad_address_range(span: Span, range: &str) -> Diagnostic {
    Diagnostic::error("E0882", format!("not an address range: `{range}`")).with_label(span, "here")
}

/// E0883: `--to-source` or `--to-destination` with neither address nor port.
pub(crate) fn nothing_to_translate(span: Span, to: &str) -> Diagnostic {
    Diagnostic::error("E0883", format!("`{to}`: nothing to translate to")).with_label(span, "here")
}

/// E0884: a TCP flag iptables does not name.
pub(crate) fn unknown_tcp_flag(span: Span, flag: &str) -> Diagnostic {
    Diagnostic::error("E0884", format!("unknown TCP flag `{flag}`")).with_label(span, "here")
}

/// E0885: an `--uid-owner` or `--gid-owner` that is not a number or range.
pub(crate) fn bad_owner(span: Span, id: &str) -> Diagnostic {
    Diagnostic::error(
        "E0885",
        format!("`{id}` is not a user or group number or range (names are not resolved)"),
    )
    .with_label(span, "here")
}

/// E0886: a `--timestart` or `--timestop` that is not `HH:MM[:SS]`.
pub(crate) fn bad_time(span: Span, time: &str) -> Diagnostic {
    Diagnostic::error("E0886", format!("bad time `{time}`")).with_label(span, "here")
}

/// E0887: a weekday neither a name nor 1-7.
pub(crate) fn unknown_weekday(span: Span, day: &str) -> Diagnostic {
    Diagnostic::error("E0887", format!("unknown weekday `{day}`")).with_label(span, "here")
}

/// E0888: a quote that is not closed on its line.
pub(crate) fn unterminated_quote(span: Span, quote: &str) -> Diagnostic {
    Diagnostic::error("E0888", format!("unterminated quote `{quote}`")).with_label(span, "here")
}

/// E0889: a backslash as the last character of a line.
pub(crate) fn trailing_backslash(span: Span, _: &str) -> Diagnostic {
    Diagnostic::error("E0889", "backslash at end of line").with_label(span, "here")
}

/// E0890: a control character (other than a tab) in a line.
pub(crate) fn control_character(span: Span, c: &str) -> Diagnostic {
    Diagnostic::error("E0890", format!("control character {c} in a rule")).with_label(span, "here")
}
