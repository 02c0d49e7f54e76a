//! Time windows on rules and access grants: `days mon, tue` and
//! `time 08:00-18:00`, as the kernel's `-m time` match sees them (UTC).

use rampart_diag::Diagnostic;
use rampart_ir::TimeMatch;
use rampart_syntax::ast::Word;

use crate::diagnostics;

const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// The window of `days` and `time`, or `None` when neither is given.
pub(crate) fn window(
    days: &[Word],
    time: Option<&Word>,
    diags: &mut Vec<Diagnostic>,
) -> Option<TimeMatch> {
    if days.is_empty() && time.is_none() {
        return None;
    }
    let mut m = TimeMatch::default();
    for w in days {
        match weekdays(&w.text) {
            Some(bits) => m.weekdays |= bits,
            None => diags.push(diagnostics::bad_weekday(&w.text, w.span)),
        }
    }
    if let Some(w) = time {
        match daily(&w.text) {
            Some((start, stop)) => {
                m.start = Some(start);
                m.stop = Some(stop);
            }
            None => diags.push(diagnostics::bad_time(&w.text, w.span)),
        }
    }
    Some(m)
}

/// `mon` or a range `mon-fri` (wrapping, `sat-mon`) as weekday bits.
fn weekdays(text: &str) -> Option<u8> {
    let day = |d: &str| DAYS.iter().position(|n| *n == d.to_ascii_lowercase());
    let (a, b) = text.split_once('-').unwrap_or((text, text));
    let (a, b) = (day(a)?, day(b)?);
    let mut bits = 0u8;
    let mut d = a;
    loop {
        bits |= 1 << d;
        if d == b {
            return Some(bits);
        }
        d = (d + 1) % 7;
    }
}

/// `08:00-18:00`: the first minute in, and the last minute in (17:59).
/// A window may wrap midnight (`22:00-06:00`); `24:00` ends the day.
fn daily(text: &str) -> Option<(u16, u16)> {
    let (a, b) = text.split_once('-')?;
    let (start, end) = (clock(a)?, clock(b)?);
    (start < 1440 && start != end && end > 0).then(|| (start, end - 1))
}

fn clock(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return None;
    }
    let (h, m) = (h.parse::<u16>().ok()?, m.parse::<u16>().ok()?);
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// `mon,tue 08:00-18:00` style text of a window, for messages and docs.
#[must_use]
pub fn describe(t: &TimeMatch) -> String {
    let mut parts = Vec::new();
    if t.weekdays != 0 {
        let days: Vec<&str> =
            (0..7).filter(|d| t.weekdays & (1 << d) != 0).map(|d| DAYS[d]).collect();
        parts.push(days.join(","));
    }
    if let (Some(a), Some(b)) = (t.start, t.stop) {
        let b = b + 1;
        parts.push(format!("{:02}:{:02}-{:02}:{:02} UTC", a / 60, a % 60, b / 60, b % 60));
    }
    parts.join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_and_windows() {
        assert_eq!(weekdays("mon"), Some(1));
        assert_eq!(weekdays("mon-fri"), Some(0b1_1111));
        assert_eq!(weekdays("sat-mon"), Some(0b110_0001));
        assert_eq!(weekdays("moon"), None);
        assert_eq!(daily("08:00-18:00"), Some((480, 1079)));
        assert_eq!(daily("22:00-06:00"), Some((1320, 359)));
        assert_eq!(daily("00:00-24:00"), Some((0, 1439)));
        assert_eq!(daily("8:00-9:30"), Some((480, 569)));
        for bad in ["08:00", "08:00-08:00", "25:00-26:00", "08:0-09:00", "a-b", "08:00-00:00"] {
            assert_eq!(daily(bad), None, "{bad}");
        }
        let t = TimeMatch { start: Some(480), stop: Some(1079), weekdays: 3 };
        assert_eq!(describe(&t), "mon,tue 08:00-18:00 UTC");
    }
}
