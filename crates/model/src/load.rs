//! Reading policy files, following `include`, then resolving them.

use std::path::{Path, PathBuf};

use rampart_diag::{Diagnostic, FileId, Sources, Span};
use rampart_syntax::ast::{Item, Policy, Text, Word};

use crate::{Model, access, diagnostics, firewall, resolve};

/// The result of loading a policy: the model when there are no errors, and
/// every diagnostic (errors and warnings) found.
#[derive(Debug)]
pub struct Loaded {
    pub model: Option<Model>,
    pub diagnostics: Vec<Diagnostic>,
}

impl Loaded {
    #[must_use]
    pub fn has_errors(&self) -> bool {
        self.diagnostics.iter().any(Diagnostic::is_error)
    }
}

/// The largest policy file read (a 100,000-rule policy is a few MB).
pub const MAX_POLICY_BYTES: u64 = 64 << 20;

/// Load a policy file and everything it includes. Includes are read
/// relative to the including file. An unreadable top file is an `Err`.
pub fn load(path: &Path, sources: &mut Sources) -> std::io::Result<Loaded> {
    let text = rampart_os::read_text(path, MAX_POLICY_BYTES)?;
    let file = sources.add(path.display().to_string(), text);
    Ok(finish(file, path.parent(), sources))
}

/// Load a policy held in memory as the file `path` (an editor's unsaved
/// buffer): its includes are read relative to `path`, as [`load`] does.
pub fn load_text(path: &Path, text: &str, sources: &mut Sources) -> Loaded {
    let file = sources.add(path.display().to_string(), text);
    finish(file, path.parent(), sources)
}

/// Load a policy held in memory (its includes are read relative to the
/// current directory).
pub fn load_str(name: &str, text: &str, sources: &mut Sources) -> Loaded {
    let file = sources.add(name, text);
    finish(file, None, sources)
}

fn finish(file: FileId, dir: Option<&Path>, sources: &mut Sources) -> Loaded {
    let mut diags = Vec::new();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = vec![canonical(sources.name(file))];
    let dir = dir.unwrap_or(Path::new("."));
    let mut read =
        Read { sources, seen: &mut seen, out: &mut files, skipped: &mut skipped, unread: false };
    read.collect(file, None, dir, &mut diags);
    if read.unread {
        // An include not read leaves every name it defines unknown.
        return Loaded { model: None, diagnostics: diags };
    }
    // A syntax error hides no other error: what parsed is still checked,
    // but not for names written only in a statement that did not parse.
    let mut model_diags = Vec::new();
    let model = build(&files, &mut model_diags);
    let broken: Vec<&str> = skipped
        .iter()
        .flat_map(|s| sources.slice(*s).split(|c: char| c.is_whitespace() || ",{}".contains(c)))
        .filter(|w| !w.is_empty())
        .collect();
    diags.extend(model_diags.into_iter().filter(|d| !names_a_broken_statement(d, &broken)));
    // Report in reading order, whatever order the checks ran in.
    diags.sort_by_key(|d| d.span().map(|s| (s.file, s.start)));
    let model = (!diags.iter().any(Diagnostic::is_error)).then_some(model);
    Loaded { model, diagnostics: diags }
}

/// The model of the files read: names resolved, then the access
/// declarations and the firewalls built with them.
fn build(files: &[Policy], diags: &mut Vec<Diagnostic>) -> Model {
    let mut d = resolve::resolve(files, diags);
    let names: Vec<&str> = d.firewalls.iter().map(|f| f.name.text.as_str()).collect();
    let accesses = access::build_all(&d.accesses, &mut d.resolver, &names, diags);
    let firewalls =
        d.firewalls.into_iter().map(|fw| firewall::build(fw, &mut d.resolver, diags)).collect();
    Model { firewalls, accesses }
}

/// Whether `d` is about a reference (unknown name, rule set, interface,
/// `main`, a name of the wrong kind, an unused rule set) to a name that a
/// statement which did not parse may have defined or used.
fn names_a_broken_statement(d: &Diagnostic, broken: &[&str]) -> bool {
    const REFERENCES: [&str; 6] = ["E0201", "E0207", "E0210", "E0212", "E0214", "W0302"];
    REFERENCES.contains(&d.code)
        && d.message.split('`').skip(1).step_by(2).any(|name| broken.contains(&name))
}

fn canonical(name: &str) -> PathBuf {
    std::fs::canonicalize(name).unwrap_or_else(|_| PathBuf::from(name))
}

/// The files of one policy as they are read, with the text of every
/// statement that did not parse.
struct Read<'a> {
    sources: &'a mut Sources,
    seen: &'a mut Vec<PathBuf>,
    out: &'a mut Vec<Policy>,
    skipped: &'a mut Vec<Span>,
    /// An included file could not be read, or was no policy.
    unread: bool,
}

impl Read<'_> {
    /// The words of an address table, `file` read relative to `dir`: one
    /// a line, `#` to the end of a line a comment. The file joins the
    /// sources, so a bad line is reported at its own file, line and column.
    fn table(&mut self, file: &Text, dir: &Path, diags: &mut Vec<Diagnostic>) -> Vec<Word> {
        let path = dir.join(&file.value);
        let text = match rampart_os::read_text(&path, MAX_POLICY_BYTES) {
            Ok(text) => text,
            Err(e) => {
                diags.push(diagnostics::table_unreadable(&file.value, file.span, &e.to_string()));
                return Vec::new();
            }
        };
        let id = self.sources.add(path.display().to_string(), text);
        let mut words = Vec::new();
        let mut at = 0;
        for line in self.sources.text(id).split_inclusive('\n') {
            // Even in a comment: a mark there can show the line's address
            // as commented out, or a commented one as read.
            for (i, c) in line.char_indices().filter(|&(_, c)| rampart_diag::reorders(c)) {
                let span = Span::new(id, at + i, at + i + c.len_utf8());
                diags.push(diagnostics::table_bidi(c, span));
            }
            let content = line.split('#').next().unwrap_or("");
            let start = at + content.len() - content.trim_start().len();
            let trimmed = content.trim();
            at += line.len();
            if trimmed.is_empty() {
                continue;
            }
            let span = Span::new(id, start, start + trimmed.len());
            if trimmed.contains(char::is_whitespace) {
                diags.push(diagnostics::table_line(span));
                continue;
            }
            words.push(Word { text: trimmed.to_owned(), span });
        }
        words
    }

    fn collect(
        &mut self,
        file: FileId,
        included_at: Option<Span>,
        dir: &Path,
        diags: &mut Vec<Diagnostic>,
    ) {
        let mut parsed = rampart_syntax::parse(self.sources.text(file), file);
        let first_error =
            parsed.diagnostics.iter().find(|d| d.is_error()).and_then(Diagnostic::span);
        if let (Some(at), Some(first), true) =
            (included_at, first_error, parsed.ast.items.is_empty())
        {
            // Not one statement read: no policy (an include of /etc/shadow,
            // say), whose lines are not ours to print. Where, but not what.
            diags.push(diagnostics::not_a_policy(&self.sources.location(first), at));
            self.unread = true;
            return;
        }
        diags.extend(parsed.diagnostics);
        self.skipped.extend(parsed.skipped);
        for item in &mut parsed.ast.items {
            if let Item::AddressTable { file, addrs, .. } = item {
                *addrs = self.table(file, dir, diags);
            }
        }
        let includes: Vec<(String, Span)> = parsed
            .ast
            .items
            .iter()
            .filter_map(|i| match i {
                Item::Include(t) => Some((t.value.clone(), t.span)),
                _ => None,
            })
            .collect();
        self.out.push(parsed.ast);
        for (rel, span) in includes {
            let path = dir.join(&rel);
            let key = canonical(&path.display().to_string());
            if self.seen.contains(&key) {
                diags.push(diagnostics::include_cycle(&rel, span));
                continue;
            }
            match rampart_os::read_text(&path, MAX_POLICY_BYTES) {
                Ok(text) => {
                    self.seen.push(key);
                    let id = self.sources.add(path.display().to_string(), text);
                    let sub = path.parent().unwrap_or(dir).to_path_buf();
                    self.collect(id, Some(span), &sub, diags);
                }
                Err(e) => {
                    diags.push(diagnostics::include_failed(&rel, span, &e.to_string()));
                    self.unread = true;
                }
            }
        }
    }
}
