use std::fmt;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError, MietteSpanContents,
    SourceCode, SourceSpan, SpanContents,
};
use serde_json::json;

use crate::{Diagnostic, Severity, Sources, Span, printable};

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
            out.push_str(&format!("  at {}: {}\n", sources.location(l.span), l.message));
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
struct Window {
    name: String,
    text: String,
    /// Where `text` starts in the file, and on which line (0-based).
    offset: usize,
    line: usize,
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
            c.column(),
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
            Window { name: sources.name(f).to_owned(), text: text.to_owned(), offset, line }
        });
        // The first label is primary: miette puts its line and column in the
        // `file:line:col` header.
        let labels = d
            .labels
            .iter()
            .enumerate()
            .filter(|(_, l)| Some(l.span.file) == file)
            .map(|(i, l)| {
                let span = SourceSpan::new((l.span.start as usize).into(), l.span.len());
                if i == 0 {
                    LabeledSpan::new_primary_with_span(Some(l.message.clone()), span)
                } else {
                    LabeledSpan::new_with_span(Some(l.message.clone()), span)
                }
            })
            .collect();
        Self {
            message: d.message.clone(),
            code: d.code,
            severity: d.severity,
            help: d.help.clone(),
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
                format!("{}: {}\n  {excerpt}", sources.location(l.span), l.message)
            })
            .collect();
        help.extend(d.help.clone());
        Self {
            message: d.message.clone(),
            code: d.code,
            severity: d.severity,
            help: Some(help.join("\n")),
            source: None,
            labels: vec![],
        }
    }
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
}
