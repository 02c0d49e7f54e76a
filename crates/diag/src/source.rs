use std::fmt;

/// Index of a file in [`Sources`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct FileId(pub u32);

/// A byte range in one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Span {
    pub file: FileId,
    pub start: u32,
    pub end: u32,
}

impl Span {
    #[must_use]
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Self { file, start: to_u32(start), end: to_u32(end) }
    }

    /// The smallest span covering both (which must be in the same file).
    #[must_use]
    pub fn to(self, other: Span) -> Span {
        Span { file: self.file, start: self.start.min(other.start), end: self.end.max(other.end) }
    }

    #[must_use]
    pub fn len(self) -> usize {
        (self.end - self.start) as usize
    }

    #[must_use]
    pub fn is_empty(self) -> bool {
        self.end == self.start
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).expect("policy files are smaller than 4 GiB")
}

/// One-based line and column (column counted in characters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LineCol {
    pub line: u32,
    pub col: u32,
}

impl fmt::Display for LineCol {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.col)
    }
}

struct SourceFile {
    name: String,
    text: String,
    line_starts: Vec<u32>,
}

/// Every file read for one run, addressed by [`FileId`].
#[derive(Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    pub fn add(&mut self, name: impl Into<String>, text: impl Into<String>) -> FileId {
        let text = text.into();
        let line_starts = std::iter::once(0)
            .chain(text.match_indices('\n').map(|(i, _)| to_u32(i + 1)))
            .collect();
        self.files.push(SourceFile { name: name.into(), text, line_starts });
        FileId(to_u32(self.files.len() - 1))
    }

    /// Every file, in the order read.
    pub fn ids(&self) -> impl Iterator<Item = FileId> + use<> {
        (0..to_u32(self.files.len())).map(FileId)
    }

    #[must_use]
    pub fn name(&self, file: FileId) -> &str {
        &self.files[file.0 as usize].name
    }

    #[must_use]
    pub fn text(&self, file: FileId) -> &str {
        &self.files[file.0 as usize].text
    }

    /// The text a span covers.
    #[must_use]
    pub fn slice(&self, span: Span) -> &str {
        &self.text(span.file)[span.start as usize..span.end as usize]
    }

    #[must_use]
    pub fn line_col(&self, file: FileId, offset: u32) -> LineCol {
        let f = &self.files[file.0 as usize];
        let line = f.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = f.line_starts[line] as usize;
        let end = (offset as usize).min(f.text.len());
        let col = f.text.get(start..end).map_or(end - start, |s| s.chars().count());
        LineCol { line: to_u32(line + 1), col: to_u32(col + 1) }
    }

    /// The whole lines around `start..end`, `around` more on each side:
    /// their offset in the file, their first line (0-based) and their text.
    #[must_use]
    pub fn lines_around(
        &self,
        file: FileId,
        start: u32,
        end: u32,
        around: usize,
    ) -> (usize, usize, &str) {
        let f = &self.files[file.0 as usize];
        let line_of = |o: u32| f.line_starts.partition_point(|&s| s <= o) - 1;
        let first = line_of(start).saturating_sub(around);
        let last = line_of(end) + around + 1;
        let from = f.line_starts[first] as usize;
        let to = f.line_starts.get(last).map_or(f.text.len(), |&s| s as usize);
        (from, first, &f.text[from..to])
    }

    /// `file:line:col` of the start of a span.
    #[must_use]
    pub fn location(&self, span: Span) -> String {
        format!("{}:{}", self.name(span.file), self.line_col(span.file, span.start))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one() {
        let mut s = Sources::new();
        let f = s.add("a.rp", "ab\ncdé f\n");
        assert_eq!(s.line_col(f, 0), LineCol { line: 1, col: 1 });
        assert_eq!(s.line_col(f, 3), LineCol { line: 2, col: 1 });
        // é is two bytes but one column
        assert_eq!(s.line_col(f, 8), LineCol { line: 2, col: 5 });
        assert_eq!(s.location(Span::new(f, 4, 5)), "a.rp:2:2");
    }
}
