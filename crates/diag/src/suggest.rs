//! "Did you mean": the known name nearest to a misspelt one.

use crate::Diagnostic;

/// The candidate nearest to `word` by edit distance (a swap of two
/// letters is one edit), when it is near enough to be a slip of the
/// keyboard: at most one edit per three letters, and never the whole
/// word. Ties go to the candidate first in byte order, so the advice is
/// the same on every run.
#[must_use]
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let len = word.chars().count();
    let most = (len / 3).max(1);
    candidates
        .into_iter()
        .filter(|c| *c != word)
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|&(d, _)| d <= most && d < len)
        .min()
        .map(|(_, c)| c)
}

impl Diagnostic {
    /// Lead the help with ``did you mean `x`?`` when a candidate is near
    /// `word`.
    #[must_use]
    pub fn suggest<'a>(
        mut self,
        word: &str,
        candidates: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        if let Some(c) = closest(word, candidates) {
            let hint = format!("did you mean `{c}`?");
            self.help = Some(match self.help.take() {
                Some(h) => format!("{hint} {h}"),
                None => hint,
            });
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn near_names_only() {
        let names = ["service", "host", "network", "group", "firewall"];
        assert_eq!(closest("servce", names), Some("service"));
        assert_eq!(closest("sevrice", names), Some("service"), "a swap is one edit");
        assert_eq!(closest("hots", names), Some("host"));
        assert_eq!(closest("firewal", names), Some("firewall"));
        assert_eq!(closest("xyz", names), None);
        assert_eq!(closest("ho", names), None, "too short to guess");
        assert_eq!(closest("service", names), None, "not a misspelling");
        assert_eq!(closest("alow", ["accept", "deny", "allow"]), Some("allow"));
        assert_eq!(closest("ab", ["ac", "aa"]), Some("aa"), "ties by byte order");
    }

    fn unknown() -> Diagnostic {
        let (code, message, labels) = ("test", "x".to_owned(), vec![]);
        Diagnostic { severity: crate::Severity::Error, code, message, labels, help: None }
    }

    #[test]
    fn help_is_led_by_the_suggestion() {
        let d = unknown().with_help("define it").suggest("wbe", ["web"]);
        assert_eq!(d.help.as_deref(), Some("did you mean `web`? define it"));
        assert_eq!(unknown().suggest("zzz", ["web"]).help, None);
    }
}
