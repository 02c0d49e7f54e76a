//! `rampart fmt`: one canonical layout for a policy file.
//!
//! The formatter works on the token stream with comments kept as trivia, so
//! it changes only what the language ignores: indentation (two spaces per
//! block), the spaces between words (one; none before a comma), blank lines
//! (at most one, none at the edges of a block or the file), `;` (a line
//! end), and the column of trailing comments (aligned within a run of lines
//! of one indentation, as are the `comment "..."` clauses that end rules).
//! Every line end that ends a statement stays; a line
//! broken after a comma stays broken, its continuation indented by four. A
//! `{ ... }` written on one line stays on one line. Words, strings and
//! comments are kept exactly as written.

use rampart_diag::{FileId, Span};

use crate::Parsed;
use crate::lexer::{self, Kind, Token};

/// Format one policy file. `ast` is `None` when the file has syntax
/// errors: those are in `diagnostics`, and nothing should be written.
#[must_use]
pub fn format(src: &str, file: FileId) -> Parsed<Option<String>> {
    let parsed = crate::parse(src, file);
    if parsed.diagnostics.iter().any(rampart_diag::Diagnostic::is_error) {
        return Parsed { ast: None, diagnostics: parsed.diagnostics, skipped: parsed.skipped };
    }
    let mut comments = Vec::new();
    let tokens = lexer::lex_with_comments(src, file, &mut Vec::new(), &mut comments);
    let items = merge(tokens, &comments);
    Parsed {
        ast: Some(render(&layout(src, &items))),
        diagnostics: parsed.diagnostics,
        skipped: parsed.skipped,
    }
}

/// A token or a comment, in source order.
#[derive(Clone, Copy)]
enum Item {
    Token(Token),
    Comment(Span),
}

fn merge(tokens: Vec<Token>, comments: &[Span]) -> Vec<Item> {
    let mut items: Vec<Item> = tokens.into_iter().map(Item::Token).collect();
    items.extend(comments.iter().copied().map(Item::Comment));
    items.sort_by_key(|i| match i {
        Item::Token(t) => t.span.start,
        Item::Comment(s) => s.start,
    });
    items
}

/// One output line: indentation, code, trailing comment. A line with
/// neither code nor comment is a blank line.
#[derive(Default)]
struct Line {
    indent: usize,
    code: String,
    /// A rule's closing `comment "..."` clause, aligned like comments.
    note: Option<String>,
    comment: Option<String>,
    /// It opens a block (`firewall f {`).
    opens: bool,
}

impl Line {
    fn is_blank(&self) -> bool {
        self.code.is_empty() && self.note.is_none() && self.comment.is_none()
    }
}

struct Layout {
    lines: Vec<Line>,
    current: Line,
    /// The open blocks, innermost last: `true` for a group's member list,
    /// whose lines are members rather than continuations.
    blocks: Vec<bool>,
    /// The line being built continues a list broken after a comma.
    continued: bool,
}

impl Layout {
    fn indent(&self) -> usize {
        let list = self.blocks.last().copied().unwrap_or(false);
        self.blocks.len() * 2 + if self.continued && !list { 4 } else { 0 }
    }

    fn push_code(&mut self, text: &str, space_before: bool) {
        if self.current.code.is_empty() {
            self.current.indent = self.indent();
        } else if space_before {
            self.current.code.push(' ');
        }
        self.current.code.push_str(text);
    }

    /// End the line being built; an empty one is a blank line.
    fn end_line(&mut self) {
        let line = std::mem::take(&mut self.current);
        self.lines.push(line);
    }
}

fn layout(src: &str, items: &[Item]) -> Vec<Line> {
    let text = |s: Span| &src[s.start as usize..s.end as usize];
    let mut l = Layout {
        lines: Vec::new(),
        current: Line::default(),
        blocks: Vec::new(),
        continued: false,
    };
    // How deep inside braces that stay on one line.
    let mut inline = 0usize;
    let mut after_comma = false;
    let mut note_text = false;
    for (i, item) in items.iter().enumerate() {
        let token = match *item {
            Item::Comment(span) => {
                let comment = text(span).trim_end().to_owned();
                if l.current.code.is_empty() {
                    l.current.indent = l.indent();
                    l.current.code = comment;
                } else {
                    l.current.comment = Some(comment);
                }
                continue;
            }
            Item::Token(t) => t,
        };
        match token.kind {
            Kind::Str if note_text => {
                note_text = false;
                l.current.note = Some(format!("comment {}", text(token.span)));
            }
            Kind::Word
                if text(token.span) == "comment" && inline == 0 && ends_rule(&items[i + 1..]) =>
            {
                note_text = true;
            }
            Kind::Word | Kind::Str => l.push_code(text(token.span), true),
            Kind::Comma => l.push_code(",", false),
            Kind::LBrace => {
                l.push_code("{", true);
                if inline > 0 || closes_on_this_line(&items[i + 1..]) {
                    inline += 1;
                } else {
                    l.blocks.push(l.current.code.starts_with("group "));
                    l.current.opens = true;
                    l.continued = false;
                    // Members written after the `{` start their own line; a
                    // comment stays on the `{` line.
                    if matches!(items.get(i + 1), Some(Item::Token(t)) if t.kind != Kind::Newline) {
                        l.end_line();
                    }
                }
            }
            Kind::RBrace if inline > 0 => {
                inline -= 1;
                l.push_code("}", true);
            }
            Kind::RBrace => {
                if !l.current.code.is_empty() {
                    l.end_line();
                }
                l.blocks.pop();
                l.continued = false;
                l.push_code("}", true);
            }
            Kind::Newline => {
                let blank = l.current.code.is_empty();
                if blank && l.lines.last().is_some_and(Line::is_blank) {
                    continue;
                }
                l.end_line();
                l.continued = after_comma;
            }
            Kind::Eof => {
                if !l.current.code.is_empty() {
                    l.end_line();
                }
            }
        }
        if token.kind != Kind::Newline {
            after_comma = token.kind == Kind::Comma;
        }
    }
    drop_edge_blanks(l.lines)
}

/// Whether a string and then the end of the line follow.
fn ends_rule(rest: &[Item]) -> bool {
    matches!(rest.first(), Some(Item::Token(t)) if t.kind == Kind::Str)
        && match rest.get(1) {
            Some(Item::Token(t)) => matches!(t.kind, Kind::Newline | Kind::Eof | Kind::RBrace),
            Some(Item::Comment(_)) => true,
            None => false,
        }
}

/// Whether the `{` just read has its `}` before the line ends.
fn closes_on_this_line(rest: &[Item]) -> bool {
    let mut depth = 0usize;
    for item in rest {
        let Item::Token(t) = item else { return false };
        match t.kind {
            Kind::LBrace => depth += 1,
            Kind::RBrace if depth == 0 => return true,
            Kind::RBrace => depth -= 1,
            Kind::Newline | Kind::Eof => return false,
            Kind::Word | Kind::Str | Kind::Comma => {}
        }
    }
    false
}

/// No blank line at the start or end of the file, after a line that opens
/// a block, or before a line that closes one.
fn drop_edge_blanks(lines: Vec<Line>) -> Vec<Line> {
    let mut out: Vec<Line> = Vec::with_capacity(lines.len());
    for line in lines {
        if line.is_blank() {
            let after_open = out.last().is_none_or(|p| p.opens);
            if after_open || out.last().is_some_and(Line::is_blank) {
                continue;
            }
        } else if line.code.starts_with('}') && out.last().is_some_and(Line::is_blank) {
            out.pop();
        }
        out.push(line);
    }
    while out.last().is_some_and(Line::is_blank) {
        out.pop();
    }
    out
}

/// Lines to text. In a run of lines with the same indentation, the rule
/// comments start in one column, two spaces after the longest code, and
/// the trailing `#` comments in one column after that.
fn render(lines: &[Line]) -> String {
    let mut out = String::new();
    let mut start = 0;
    while start < lines.len() {
        let run = &lines[start..run_end(lines, start)];
        let column = |width: &dyn Fn(&Line) -> Option<usize>| {
            run.iter().filter_map(width).max().map_or(0, |w| w + 2)
        };
        let note_column = column(&|l| l.note.as_ref().map(|_| l.code.len()));
        let with_note = |l: &Line| match &l.note {
            Some(n) => format!("{:<note_column$}{n}", l.code),
            None => l.code.clone(),
        };
        let comment_column = column(&|l| l.comment.as_ref().map(|_| with_note(l).len()));
        for line in run {
            let code = with_note(line);
            if !code.is_empty() {
                out.push_str(&" ".repeat(line.indent));
            }
            match &line.comment {
                Some(comment) if !code.is_empty() => {
                    out.push_str(&format!("{code:<comment_column$}{comment}"));
                }
                _ => out.push_str(&code),
            }
            out.push('\n');
        }
        start += run.len();
    }
    out
}

/// The end of the run of code lines of one indentation starting at `start`.
fn run_end(lines: &[Line], start: usize) -> usize {
    let first = &lines[start];
    if first.is_blank() {
        return start + 1;
    }
    let mut end = start + 1;
    while end < lines.len() && !lines[end].is_blank() && lines[end].indent == first.indent {
        end += 1;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(src: &str) -> String {
        let f = format(src, FileId(0));
        assert!(f.diagnostics.is_empty(), "{:?}", f.diagnostics);
        f.ast.unwrap()
    }

    #[test]
    fn indents_spaces_and_aligns_comments() {
        let src = "host   a 10.0.0.1 ,10.0.0.2   # first\nhost b 10.0.0.3 # second\n\n\n\
                   firewall f {\n\n interface eth0   dynamic\n    ruleset main {   accept  log }\n\n}\n\n";
        assert_eq!(
            fmt(src),
            "host a 10.0.0.1, 10.0.0.2  # first\nhost b 10.0.0.3            # second\n\n\
             firewall f {\n  interface eth0 dynamic\n  ruleset main { accept log }\n}\n"
        );
    }

    #[test]
    fn keeps_statement_ends_and_continuations() {
        let src = "group g {\na,\nb }\nservice s tcp 1,\n   2 ; host h 10.0.0.1\n# own line\n";
        assert_eq!(
            fmt(src),
            "group g {\n  a,\n  b\n}\nservice s tcp 1,\n    2\nhost h 10.0.0.1\n# own line\n"
        );
    }

    #[test]
    fn is_idempotent_on_the_examples() {
        for src in [
            include_str!("../../../examples/spice-client.rp"),
            include_str!("../../../examples/office-gateway.rp"),
            include_str!("../../../examples/kvm-bridges.rp"),
        ] {
            let once = fmt(src);
            assert_eq!(fmt(&once), once);
        }
    }

    #[test]
    fn refuses_files_with_errors() {
        let f = format("host a\n", FileId(0));
        assert!(f.ast.is_none());
        assert_eq!(f.diagnostics[0].code, "E0003");
    }
}
