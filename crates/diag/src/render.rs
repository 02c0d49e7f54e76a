use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::json;

use crate::text::escaped_in_lines;
use crate::{Diagnostic, Severity, Sources, Span, printable, printable_lines};

/// Render diagnostics as text with the offending source underlined.
#[must_use]
pub fn render(diags: &[Diagnostic], sources: &Sources, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(100);
    let mut out = String::new();
    for d in diags {
        let report = Report::new(d, sources);
        // Writing into a String cannot fail.
        let _ = handler.render_report(&mut out, &report);
        // miette's header names the primary span only: every other span
        // gets its own `file:line:col`, so a reader (or an editor) finds
        // both rules of a pair.
        for l in d.labels.iter().skip(1) {
            out.push_str(&format!(
                "  at {}: {}\n",
                printable(&sources.location(l.span)),
                printable_lines(&l.message)
            ));
        }
    }
    out
}

/// Diagnostics as a JSON array, for scripts and editors.
#[must_use]
pub fn render_json(diags: &[Diagnostic], sources: &Sources) -> serde_json::Value {
    diags
        .iter()
        .map(|d| {
            let at = d.span().map(|s| {
                let lc = sources.line_col(s.file, s.start);
                json!({"file": sources.name(s.file), "line": lc.line, "column": lc.col,
                       "text": sources.slice(s)})
            });
            json!({
                "severity": match d.severity {
                    Severity::Error => "error",
                    Severity::Warning => "warning",
                    Severity::Info => "info",
                },
                "code": d.code,
                "message": d.message,
                "location": at,
                "labels": d.labels.iter().map(|l| l.message.clone()).collect::<Vec<_>>(),
                // Every label with its place; the first is the primary one.
                "spans": d.labels.iter().map(|l| {
                    let lc = sources.line_col(l.span.file, l.span.start);
                    json!({"message": l.message, "file": sources.name(l.span.file),
                           "line": lc.line, "column": lc.col, "text": sources.slice(l.span)})
                }).collect::<Vec<_>>(),
                "help": d.help,
            })
        })
        .collect()
}

/// Lines of context kept around the labels: more than miette shows.
const WINDOW_LINES: usize = 3;

/// The lines of a file around a diagnostic's labels, so that rendering
/// reads and copies those alone, not the whole file per diagnostic (a
/// policy of 100,000 rules can have tens of thousands of warnings).
///
/// Control characters of the file are shown escaped (`\u{1b}`), so that
/// nothing in a policy moves the cursor or changes the terminal; offsets
/// given to miette are in the shown text ([`Window::shown`]).
struct Window {
    name: String,
    /// The lines as shown.
    text: String,
    /// Where the lines start in the file, and on which line (0-based).
    offset: usize,
    line: usize,
    /// Every escaped character, in order.
    escapes: Vec<Escape>,
}

/// A control character of the file and its escape in the shown text.
struct Escape {
    /// Its offset in the file's lines and its length in bytes there.
    source: usize,
    source_len: usize,
    /// Its escape's offset and length in the shown text.
    at: usize,
    len: usize,
}

impl Window {
    fn new(name: &str, lines: &str, offset: usize, line: usize) -> Self {
        let mut text = String::with_capacity(lines.len());
        let mut escapes = Vec::new();
        let mut chars = lines.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            if escaped_in_lines(c, chars.peek().map(|&(_, n)| n)) {
                let at = text.len();
                text.extend(c.escape_default());
                escapes.push(Escape {
                    source: i,
                    source_len: c.len_utf8(),
                    at,
                    len: text.len() - at,
                });
            } else {
                text.push(c);
            }
        }
        Self { name: printable(name).into_owned(), text, offset, line, escapes }
    }

    /// Where offset `at` of the file is in the shown text, counted from the
    /// start of the file as miette's spans are.
    fn shown(&self, at: usize) -> usize {
        let local = at - self.offset;
        let grown: usize = self
            .escapes
            .iter()
            .take_while(|e| e.source < local)
            .map(|e| e.len - e.source_len)
            .sum();
        self.offset + local + grown
    }

    /// The column (0-based, in characters of the file) of offset `at` of
    /// the shown text: an escape counts as the one character it stands for,
    /// so the header's `file:line:col` is the file's, as in every other
    /// place a location is printed.
    fn column(&self, at: usize) -> usize {
        let start = self.text[..at].rfind('\n').map_or(0, |i| i + 1);
        let escaped: usize =
            self.escapes.iter().filter(|e| (start..at).contains(&e.at)).map(|e| e.len - 1).sum();
        self.text[start..at].chars().count() - escaped
    }
}

impl SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        let start = span.offset().checked_sub(self.offset).ok_or(MietteError::OutOfBounds)?;
        let local = SourceSpan::new(start.into(), span.len());
        let c = self.text.as_bytes().read_span(&local, before, after)?;
        Ok(Box::new(MietteSpanContents::new_named(
            self.name.clone(),
            c.data(),
            SourceSpan::new((c.span().offset() + self.offset).into(), c.span().len()),
            c.line() + self.line,
            self.column(start.min(self.text.len())),
            // miette counts the lines from the start of the text.
            c.line_count() + self.line,
        )))
    }
}

/// Adapter from our diagnostic to miette's trait, built only for rendering.
struct Report {
    message: String,
    code: &'static str,
    severity: Severity,
    help: Option<String>,
    source: Option<Window>,
    labels: Vec<LabeledSpan>,
}

/// miette pads to a label's column with a formatting width, which must fit
/// in a `u16`; a line this long is no picture anyway. A label this far into
/// its line is shown as its location and an excerpt instead.
const MAX_COLUMN: u32 = 10_000;
/// Characters of the line shown on each side of such a label's start.
const EXCERPT: usize = 40;

impl Report {
    fn new(d: &Diagnostic, sources: &Sources) -> Self {
        let far = |s: Span| {
            [s.start, s.end].iter().any(|&at| sources.line_col(s.file, at).col > MAX_COLUMN)
        };
        if d.labels.iter().any(|l| far(l.span)) {
            return Self::without_source(d, sources);
        }
        let file = d.span().map(|s| s.file);
        let source = file.map(|f| {
            let spans = d.labels.iter().map(|l| l.span).filter(|s| s.file == f);
            let start = spans.clone().map(|s| s.start).min().unwrap_or(0);
            let end = spans.map(|s| s.end).max().unwrap_or(0);
            let (offset, line, text) = sources.lines_around(f, start, end, WINDOW_LINES);
            Window::new(sources.name(f), text, offset, line)
        });
        // The first label is primary: miette puts its line and column in the
        // `file:line:col` header.
        let labels = d
            .labels
            .iter()
            .enumerate()
            .filter(|(_, l)| Some(l.span.file) == file)
            .map(|(i, l)| {
                let window = source.as_ref().expect("a label in a file has its window");
                let start = window.shown(l.span.start as usize);
                let span = SourceSpan::new(start.into(), window.shown(l.span.end as usize) - start);
                let message = Some(shown(&l.message));
                if i == 0 {
                    LabeledSpan::new_primary_with_span(message, span)
                } else {
                    LabeledSpan::new_with_span(message, span)
                }
            })
            .collect();
        Self {
            message: shown(&d.message),
            code: d.code,
            severity: d.severity,
            help: d.help.as_deref().map(shown),
            source,
            labels,
        }
    }

    /// Each label as `file:line:col: message` and an excerpt of its line,
    /// before the help.
    fn without_source(d: &Diagnostic, sources: &Sources) -> Self {
        let mut help: Vec<String> = d
            .labels
            .iter()
            .map(|l| {
                let text = sources.text(l.span.file);
                let line_start = text[..l.span.start as usize].rfind('\n').map_or(0, |i| i + 1);
                let before: String = text[line_start..l.span.start as usize]
                    .chars()
                    .rev()
                    .take(EXCERPT)
                    .collect::<Vec<_>>()
                    .into_iter()
                    .rev()
                    .collect();
                let after: String = text[l.span.start as usize..]
                    .chars()
                    .take_while(|c| *c != '\n')
                    .take(EXCERPT)
                    .collect();
                let excerpt = printable(&format!("…{before}{after}…")).into_owned();
                format!(
                    "{}: {}\n  {excerpt}",
                    printable(&sources.location(l.span)),
                    shown(&l.message)
                )
            })
            .collect();
        help.extend(d.help.as_deref().map(shown));
        Self {
            message: shown(&d.message),
            code: d.code,
            severity: d.severity,
            help: Some(help.join("\n")),
            source: None,
            labels: vec![],
        }
    }
}

/// Text of a diagnostic (which may quote its input) as shown.
fn shown(text: &str) -> String {
    printable_lines(text).into_owned()
}

impl fmt::Debug for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Report {}

impl miette::Diagnostic for Report {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match self.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        })
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        if self.labels.is_empty() { None } else { Some(Box::new(self.labels.iter().cloned())) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A code of no stage: the diagnostics here are made to be rendered.
    const CODE: &str = "T0001";

    #[test]
    fn an_error_past_column_65535_is_shown_with_its_location() {
        let mut sources = Sources::new();
        let text = format!("host h {}@\n", "x".repeat(100_000));
        let file = sources.add("long.rp", text);
        let at = 7 + 100_000;
        let d = Diagnostic::error(CODE, "unexpected character")
            .with_label(Span::new(file, at, at + 1), "not part of the language");
        let out = render(&[d], &sources, false);
        assert!(out.contains("long.rp:1:100008: not part of the language"), "{out}");
        assert!(out.contains(&format!("…{}@…", "x".repeat(40))), "{out}");
        // A label short of the limit keeps the picture of its line.
        let d = Diagnostic::error(CODE, "unexpected character")
            .with_label(Span::new(file, 5, 6), "here");
        assert!(render(&[d], &sources, false).contains("╭─[long.rp:1:6]"));
    }

    #[test]
    fn control_characters_of_the_input_are_shown_escaped() {
        let mut sources = Sources::new();
        // ESC, a C1 CSI, BEL, DEL and a lone carriage return, after a
        // letter of two bytes.
        let text = "host h # é \u{1b}[2J\u{9b}31m\u{7}\u{7f}\rx @\n";
        let file = sources.add("a\u{1b}]0;t\u{7}.rp", text);
        let at = text.find('@').unwrap();
        let esc = text.find('\u{1b}').unwrap();
        let d = Diagnostic::error(CODE, "bad \u{1b}[31m")
            .with_label(Span::new(file, at, at + 1), "here \u{1b}[8m")
            .with_label(Span::new(file, esc, esc + 1), "and\u{1b}[1A")
            .with_help("help\u{9b}2K");
        let out = render(&[d], &sources, false);
        assert!(!out.contains(|c: char| c.is_control() && c != '\n'), "{out}");
        assert!(out.contains("bad \\u{1b}[31m") && out.contains("help\\u{9b}2K"), "{out}");
        // The header's column is the file's, in characters.
        let col = sources.line_col(file, at as u32).col;
        assert!(out.contains(&format!("[a\\u{{1b}}]0;t\\u{{7}}.rp:1:{col}]")), "{out}");
        assert!(out.contains("at a\\u{1b}]0;t\\u{7}.rp:1:12: and\\u{1b}[1A"), "{out}");
        // Each caret stays under its character: `@` and the escape.
        let line = out.lines().find(|l| l.contains("x @")).unwrap();
        let carets = out.lines().find(|l| l.contains('┬')).unwrap();
        let at = |l: &str, c: char| l.chars().position(|x| x == c);
        let last = carets.chars().enumerate().filter(|&(_, c)| c == '┬').last().map(|(i, _)| i);
        assert_eq!(at(line, '@'), last, "{out}");
        assert_eq!(at(line, '\\').map(|i| i + 3), at(carets, '┬'), "{out}");
    }
}
