//! Strip the wrapper a log line travelled in (syslog, RFC 3339, dmesg,
//! `journalctl`, `/dev/kmsg`) and keep its time stamp.
//!
//! Detection looks only at the first bytes of the line, so a line costs a few
//! comparisons before the LOG parser sees the kernel's message.

use std::borrow::Cow;
use std::fmt;

/// Which clock a [`Stamp`] counts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Wall clock, microseconds since the Unix epoch (UTC).
    Wall,
    /// Wall clock from a syslog line that carries no year: microseconds since
    /// 2000-01-01 (a leap year, so `Feb 29` parses). Comparable only with
    /// other `WallNoYear` stamps.
    WallNoYear,
    /// Monotonic time since boot (dmesg, `/dev/kmsg`), microseconds.
    Boot,
}

/// A time stamp taken from the envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Stamp {
    /// The clock this stamp counts on; stamps of different clocks do not compare.
    pub clock: Clock,
    /// Microseconds on that clock.
    pub micros: i64,
}

/// The wrapper a line was found in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// No recognised wrapper: the line is the kernel message itself.
    Bare,
    /// `Nov 28 10:00:01 host kernel: ...` (also `journalctl -k` short format).
    Syslog,
    /// `2026-11-28T10:00:01.123456+00:00 host kernel: ...`.
    Rfc3339,
    /// `[12345.678901] ...` or `[Sat Nov 28 10:00:01 2026] ...`.
    Dmesg,
    /// `journalctl -o json`: the `MESSAGE` field.
    JournalJson,
    /// `/dev/kmsg` record: `6,1234,5678901,-;message`.
    Kmsg,
}

/// A line with its wrapper removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    /// The wrapper found.
    pub kind: Kind,
    /// The best time stamp found: a wall clock beats a boot clock.
    pub stamp: Option<Stamp>,
    /// The kernel message (borrowed unless it had to be unescaped from JSON).
    pub message: Cow<'a, [u8]>,
    /// `/dev/kmsg` sequence number, when the line was a kmsg record.
    pub seq: Option<u64>,
    /// The wrapper says the kernel wrote it: a `kernel:` syslog tag, a
    /// kmsg record, a dmesg stamp, journal transport `kernel`. Any program
    /// can write a syslog line that looks like a LOG line; a bare line
    /// says nothing either way.
    pub from_kernel: bool,
}

/// Strip the envelope of one line (without its trailing newline).
pub fn strip(line: &[u8]) -> Envelope<'_> {
    let line = trim_end(line);
    let mut env = Envelope {
        kind: Kind::Bare,
        stamp: None,
        message: Cow::Borrowed(line),
        seq: None,
        from_kernel: false,
    };
    let Some(&first) = line.first() else { return env };
    match first {
        b'{' => {
            if let Some(j) = journal_json_plain(line).or_else(|| journal_json(line)) {
                return j;
            }
        }
        b'<' => {
            // `<4>` priority from klogctl or some syslog files.
            if let Some(end) = line.iter().take(5).position(|&b| b == b'>')
                && end > 1
                && line[1..end].iter().all(u8::is_ascii_digit)
            {
                return strip(&line[end + 1..]);
            }
        }
        b'0'..=b'9' => {
            if let Some(e) = kmsg(line) {
                return e;
            }
            if let Some((stamp, rest)) = rfc3339(line) {
                env.kind = Kind::Rfc3339;
                env.stamp = Some(stamp);
                let (msg, kernel) = after_host_tag(rest);
                env.from_kernel = kernel;
                let (boot, msg) = dmesg_stamp(msg);
                if env.stamp.is_none() {
                    env.stamp = boot;
                }
                env.message = Cow::Borrowed(msg);
                return env;
            }
        }
        b'A'..=b'Z' => {
            if let Some((stamp, rest)) = bsd_syslog(line) {
                env.kind = Kind::Syslog;
                env.stamp = Some(stamp);
                let (msg, kernel) = after_host_tag(rest);
                env.from_kernel = kernel;
                let msg = skip_dmesg_stamp(msg);
                env.message = Cow::Borrowed(msg);
                return env;
            }
        }
        b'[' => {
            let (stamp, msg) = dmesg_stamp(line);
            if stamp.is_some() {
                env.kind = Kind::Dmesg;
                env.stamp = stamp;
                env.from_kernel = true;
                env.message = Cow::Borrowed(msg);
                return env;
            }
        }
        _ => {}
    }
    env
}

fn trim_end(mut s: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r'] = s {
        s = rest;
    }
    s
}

/// `host tag: message` → `message`, and whether the tag is the kernel's.
/// Syslog lines name the host and program before the text; the first `": "`
/// after the host ends the tag.
fn after_host_tag(rest: &[u8]) -> (&[u8], bool) {
    let sp = crate::line::find_space(rest);
    if sp == rest.len() {
        return (rest, false);
    }
    let tagged = &rest[sp + 1..];
    // The tag is the next word and ends in ':' (`kernel:`, `kernel[0]:`).
    let t = crate::line::find_space(tagged);
    if t > 0 && t < tagged.len() && t <= 64 && tagged[t - 1] == b':' {
        let tag = &tagged[..t - 1];
        let kernel = tag == b"kernel" || (tag.starts_with(b"kernel[") && tag.ends_with(b"]"));
        (&tagged[t + 1..], kernel)
    } else {
        (tagged, false)
    }
}

/// A journal record's transport is the kernel's.
fn journal_kernel(line: &[u8]) -> bool {
    memchr::memmem::find(line, b"\"_TRANSPORT\":\"kernel\"").is_some()
        || memchr::memmem::find(line, b"\"_TRANSPORT\" : \"kernel\"").is_some()
}

/// The bytes of a `[ 12345.678901]` stamp, as a table: one load per byte
/// instead of three comparisons.
const IN_STAMP: [bool; 256] = {
    let mut t = [false; 256];
    t[b' ' as usize] = true;
    t[b'.' as usize] = true;
    let mut d = b'0';
    while d <= b'9' {
        t[d as usize] = true;
        d += 1;
    }
    t
};

/// Skip a `[...]` stamp without parsing it (the syslog stamp wins anyway).
fn skip_dmesg_stamp(s: &[u8]) -> &[u8] {
    if s.first() != Some(&b'[') {
        return s;
    }
    let end = s.len().min(40);
    let i = 1 + s[1..end].iter().position(|&b| !IN_STAMP[usize::from(b)]).unwrap_or(end - 1);
    if s.get(i) != Some(&b']') {
        return s;
    }
    let rest = &s[i + 1..];
    rest.strip_prefix(b" ").unwrap_or(rest)
}

/// `[ 12345.678901] rest` or `[Sat Nov 28 10:00:01 2026] rest`.
fn dmesg_stamp(s: &[u8]) -> (Option<Stamp>, &[u8]) {
    if s.first() != Some(&b'[') {
        return (None, s);
    }
    let Some(close) = s.iter().take(40).position(|&b| b == b']') else { return (None, s) };
    let inner = &s[1..close];
    let rest = s[close + 1..].strip_prefix(b" ").unwrap_or(&s[close + 1..]);
    let t = trim_start(inner);
    if let Some(micros) = seconds_dot_micros(t) {
        return (Some(Stamp { clock: Clock::Boot, micros }), rest);
    }
    // dmesg -T: `Sat Nov 28 10:00:01 2026`
    if inner.len() >= 24 && inner[3] == b' ' {
        let m = &inner[4..];
        if let Some((secs, tail)) = month_day_time(m) {
            let tail = trim_start(tail);
            if let Some(year) = digits_u64(tail).filter(|_| tail.len() == 4) {
                let micros = wall_micros(year as i64, secs);
                return (Some(Stamp { clock: Clock::Wall, micros }), rest);
            }
        }
    }
    (None, s)
}

fn trim_start(mut s: &[u8]) -> &[u8] {
    while let [b' ', rest @ ..] = s {
        s = rest;
    }
    s
}

/// `12345.678901` → microseconds.
fn seconds_dot_micros(t: &[u8]) -> Option<i64> {
    let dot = memchr::memchr(b'.', t)?;
    let secs = digits_u64(&t[..dot])?;
    let frac = &t[dot + 1..];
    if frac.is_empty() || frac.len() > 9 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut us = 0i64;
    for i in 0..6 {
        us = us * 10 + frac.get(i).map_or(0, |d| i64::from(d - b'0'));
    }
    i64::try_from(secs).ok()?.checked_mul(1_000_000)?.checked_add(us)
}

fn digits_u64(s: &[u8]) -> Option<u64> {
    if s.is_empty() || s.len() > 19 {
        return None;
    }
    let mut v = 0u64;
    for &b in s {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v * 10 + u64::from(b - b'0');
    }
    Some(v)
}

/// `6,1234,5678901,-;message` (a `/dev/kmsg` record or a saved copy of one).
fn kmsg(line: &[u8]) -> Option<Envelope<'_>> {
    let semi = memchr::memchr(b';', &line[..line.len().min(64)])?;
    let head = &line[..semi];
    let mut parts = head.split(|&b| b == b',');
    let _prio = digits_u64(parts.next()?)?;
    let seq = digits_u64(parts.next()?)?;
    let ts = digits_u64(parts.next()?)?;
    Some(Envelope {
        kind: Kind::Kmsg,
        stamp: Some(Stamp { clock: Clock::Boot, micros: i64::try_from(ts).ok()? }),
        message: Cow::Borrowed(&line[semi + 1..]),
        seq: Some(seq),
        from_kernel: true,
    })
}

/// `2026-11-28T10:00:01.123456+00:00 rest` (also `Z`, `+0000`, and a space
/// instead of `T`). Returns the stamp and what follows the space after it.
fn rfc3339(line: &[u8]) -> Option<(Stamp, &[u8])> {
    if line.len() < 20 {
        return None;
    }
    let num = |r: std::ops::Range<usize>| digits_u64(&line[r]).map(|v| v as i64);
    if line[4] != b'-'
        || line[7] != b'-'
        || line[10] != b'T'
        || line[13] != b':'
        || line[16] != b':'
    {
        return None;
    }
    let (y, mo, d) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (h, mi, s) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut i = 19;
    let mut us = 0i64;
    if line.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while line.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        for k in 0..6 {
            let idx = start + k;
            us = us * 10 + if idx < i { i64::from(line[idx] - b'0') } else { 0 };
        }
    }
    let mut offset_secs = 0i64;
    match line.get(i) {
        Some(b'Z') => i += 1,
        Some(&sign @ (b'+' | b'-')) => {
            let oh = digits_u64(line.get(i + 1..i + 3)?)? as i64;
            let mut j = i + 3;
            if line.get(j) == Some(&b':') {
                j += 1;
            }
            let om = digits_u64(line.get(j..j + 2)?)? as i64;
            offset_secs = (oh * 3600 + om * 60) * if sign == b'-' { -1 } else { 1 };
            i = j + 2;
        }
        _ => {}
    }
    let rest = line.get(i..)?.strip_prefix(b" ")?;
    let secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s - offset_secs;
    Some((Stamp { clock: Clock::Wall, micros: secs * 1_000_000 + us }, rest))
}

const MONTHS: [&[u8; 3]; 12] = [
    b"Jan", b"Feb", b"Mar", b"Apr", b"May", b"Jun", b"Jul", b"Aug", b"Sep", b"Oct", b"Nov", b"Dec",
];

/// `Nov 28 10:00:01 rest` → (seconds within a year-less calendar, rest).
/// Returns (month, day, seconds of day) packed as seconds since Jan 1 of an
/// unknown year; the caller adds the year.
fn month_day_time(s: &[u8]) -> Option<(MonthDaySecs, &[u8])> {
    if s.len() < 15 || s[3] != b' ' || s[6] != b' ' || s[9] != b':' || s[12] != b':' {
        return None;
    }
    let mon = month(&s[..3])?;
    let day = digits_u64(trim_start(&s[4..6]))? as i64;
    let h = digits_u64(&s[7..9])? as i64;
    let m = digits_u64(&s[10..12])? as i64;
    let sec = digits_u64(&s[13..15])? as i64;
    if !(1..=31).contains(&day) || h > 23 || m > 59 || sec > 60 {
        return None;
    }
    Some(((mon, day, h * 3600 + m * 60 + sec), &s[15..]))
}

/// `Jan`..`Dec` → 1..12, in one match on the three bytes.
fn month(name: &[u8]) -> Option<i64> {
    let [a, b, c] = *name else { return None };
    Some(match (a, b, c) {
        (b'J', b'a', b'n') => 1,
        (b'F', b'e', b'b') => 2,
        (b'M', b'a', b'r') => 3,
        (b'A', b'p', b'r') => 4,
        (b'M', b'a', b'y') => 5,
        (b'J', b'u', b'n') => 6,
        (b'J', b'u', b'l') => 7,
        (b'A', b'u', b'g') => 8,
        (b'S', b'e', b'p') => 9,
        (b'O', b'c', b't') => 10,
        (b'N', b'o', b'v') => 11,
        (b'D', b'e', b'c') => 12,
        _ => return None,
    })
}

/// (month 1-12, day 1-31, seconds of the day)
type MonthDaySecs = (i64, i64, i64);

const fn wall_micros(year: i64, (mon, day, secs): MonthDaySecs) -> i64 {
    (days_from_civil(year, mon, day) * 86400 + secs) * 1_000_000
}

fn bsd_syslog(line: &[u8]) -> Option<(Stamp, &[u8])> {
    let (mds, rest) = month_day_time(line)?;
    let rest = rest.strip_prefix(b" ")?;
    // Year-less: count from 2000 so the stamps order within a file.
    const JAN_1_2000: i64 = wall_micros(2000, (1, 1, 0));
    let micros = wall_micros(2000, mds) - JAN_1_2000;
    Some((Stamp { clock: Clock::WallNoYear, micros }, rest))
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) const fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
pub(crate) fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[derive(serde::Deserialize)]
struct JournalRecord {
    #[serde(rename = "MESSAGE")]
    message: Option<serde_json::Value>,
    #[serde(rename = "__REALTIME_TIMESTAMP")]
    realtime: Option<String>,
    #[serde(rename = "_SOURCE_MONOTONIC_TIMESTAMP")]
    monotonic: Option<String>,
}

/// `journalctl -o json`: MESSAGE is a string, or an array of bytes when it
/// was not valid UTF-8.
fn journal_json(line: &[u8]) -> Option<Envelope<'static>> {
    let rec: JournalRecord = serde_json::from_slice(line).ok()?;
    let message: Vec<u8> = match rec.message? {
        serde_json::Value::String(s) => s.into_bytes(),
        serde_json::Value::Array(a) => a
            .iter()
            .map(|v| v.as_u64().and_then(|b| u8::try_from(b).ok()))
            .collect::<Option<_>>()?,
        _ => return None,
    };
    let stamp = rec
        .realtime
        .and_then(|s| s.parse::<i64>().ok())
        .map(|micros| Stamp { clock: Clock::Wall, micros })
        .or_else(|| {
            rec.monotonic
                .and_then(|s| s.parse::<i64>().ok())
                .map(|micros| Stamp { clock: Clock::Boot, micros })
        });
    let from_kernel = journal_kernel(line);
    Some(Envelope {
        kind: Kind::JournalJson,
        stamp,
        message: Cow::Owned(message),
        seq: None,
        from_kernel,
    })
}

/// `journalctl -o json` read in place when it is plain: string values
/// only, without escapes, control or non-ASCII bytes, and no space
/// between tokens (as journalctl writes kernel records). `None` sends the
/// line to serde_json, so the two agree on every line read here.
fn journal_json_plain(line: &[u8]) -> Option<Envelope<'_>> {
    let mut rest = line.strip_prefix(b"{\"")?.strip_suffix(b"\"}")?;
    let (mut message, mut realtime, mut monotonic) = (None, None, None);
    loop {
        let (key, after) = plain_string(rest)?;
        let (value, after) = plain_string(after.strip_prefix(b"\":\"")?)?;
        let slot = match key {
            b"MESSAGE" => &mut message,
            b"__REALTIME_TIMESTAMP" => &mut realtime,
            b"_SOURCE_MONOTONIC_TIMESTAMP" => &mut monotonic,
            _ => &mut None,
        };
        // serde_json refuses a field given twice.
        if slot.replace(value).is_some() {
            return None;
        }
        match after {
            [] => break,
            _ => rest = after.strip_prefix(b"\",\"")?,
        }
    }
    let int = |v: &[u8]| std::str::from_utf8(v).ok()?.parse::<i64>().ok();
    let stamp = realtime
        .and_then(int)
        .map(|micros| Stamp { clock: Clock::Wall, micros })
        .or_else(|| monotonic.and_then(int).map(|micros| Stamp { clock: Clock::Boot, micros }));
    Some(Envelope {
        kind: Kind::JournalJson,
        stamp,
        message: Cow::Borrowed(message?),
        seq: None,
        from_kernel: journal_kernel(line),
    })
}

/// The text up to the next `"` and what follows that quote, when the text
/// needs no unescaping.
fn plain_string(s: &[u8]) -> Option<(&[u8], &[u8])> {
    let end = memchr::memchr(b'"', s).unwrap_or(s.len());
    let text = &s[..end];
    text.iter().all(|&b| (b' '..=b'~').contains(&b) && b != b'\\').then(|| (text, &s[end..]))
}

impl fmt::Display for Stamp {
    /// Wall stamps print as RFC 3339 UTC, year-less ones as syslog does,
    /// boot stamps as dmesg does.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let secs = self.micros.div_euclid(1_000_000);
        let us = self.micros.rem_euclid(1_000_000);
        let (days, sod) = (secs.div_euclid(86400), secs.rem_euclid(86400));
        let (h, m, s) = (sod / 3600, sod % 3600 / 60, sod % 60);
        match self.clock {
            Clock::Wall => {
                let (y, mo, d) = civil_from_days(days);
                write!(f, "{y:04}-{mo:02}-{d:02}T{h:02}:{m:02}:{s:02}")?;
                if us != 0 {
                    write!(f, ".{us:06}")?;
                }
                f.write_str("Z")
            }
            Clock::WallNoYear => {
                let (_, mo, d) = civil_from_days(days + days_from_civil(2000, 1, 1));
                let name = MONTHS[(mo - 1) as usize];
                write!(f, "{} {d:>2} {h:02}:{m:02}:{s:02}", String::from_utf8_lossy(name))
            }
            Clock::Boot => write!(f, "[{secs}.{us:06}]"),
        }
    }
}

impl Stamp {
    /// Wall-clock "now" (for `collect`).
    pub fn now() -> Stamp {
        let d =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        Stamp { clock: Clock::Wall, micros: i64::try_from(d.as_micros()).unwrap_or(i64::MAX) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "[UFW BLOCK] IN=eth0 OUT= MAC=aa SRC=1.2.3.4";

    fn msg(e: &Envelope<'_>) -> String {
        String::from_utf8_lossy(&e.message).into_owned()
    }

    #[test]
    fn only_the_kernel_tag_says_kernel() {
        for (line, kernel) in [
            (format!("Nov 28 10:00:01 h kernel: {LOG}"), true),
            (format!("Nov 28 10:00:01 h kernel[0]: {LOG}"), true),
            (format!("Nov 28 10:00:01 h myapp: {LOG}"), false),
            (format!("2026-11-28T10:00:01+0000 h logger: {LOG}"), false),
            (format!("[12.5] {LOG}"), true),
        ] {
            assert_eq!(strip(line.as_bytes()).from_kernel, kernel, "{line}");
        }
    }

    #[test]
    fn syslog_with_dmesg_stamp() {
        let owned = format!("Nov 28 10:00:01 web1 kernel: [12345.678901] {LOG}\n");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Syslog);
        assert_eq!(msg(&e), LOG);
        assert_eq!(e.stamp.unwrap().to_string(), "Nov 28 10:00:01");
    }

    #[test]
    fn syslog_single_digit_day() {
        let owned = format!("Feb  3 07:08:09 h kernel: {LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Syslog);
        assert_eq!(msg(&e), LOG);
        assert_eq!(e.stamp.unwrap().to_string(), "Feb  3 07:08:09");
    }

    #[test]
    fn rfc3339_with_offset() {
        let owned = format!("2026-11-28T10:00:01.123456+01:00 host kernel: {LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Rfc3339);
        assert_eq!(msg(&e), LOG);
        assert_eq!(e.stamp.unwrap().to_string(), "2026-11-28T09:00:01.123456Z");
    }

    #[test]
    fn rfc3339_short_iso_without_colon() {
        let owned = format!("2026-11-28T10:00:01+0000 host kernel: {LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.stamp.unwrap().to_string(), "2026-11-28T10:00:01Z");
        assert_eq!(msg(&e), LOG);
    }

    #[test]
    fn dmesg_monotonic() {
        let owned = format!("[  345.000100] {LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Dmesg);
        assert_eq!(e.stamp, Some(Stamp { clock: Clock::Boot, micros: 345_000_100 }));
        assert_eq!(msg(&e), LOG);
    }

    #[test]
    fn dmesg_human() {
        let owned = format!("[Sat Nov 28 10:00:01 2026] {LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Dmesg);
        assert_eq!(e.stamp.unwrap().to_string(), "2026-11-28T10:00:01Z");
        assert_eq!(msg(&e), LOG);
    }

    #[test]
    fn ufw_prefix_is_not_a_dmesg_stamp() {
        let e = strip(LOG.as_bytes());
        assert_eq!(e.kind, Kind::Bare);
        assert_eq!(msg(&e), LOG);
    }

    #[test]
    fn kmsg_record() {
        let owned = format!("4,1234,5678901,-;{LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Kmsg);
        assert_eq!(e.seq, Some(1234));
        assert_eq!(e.stamp, Some(Stamp { clock: Clock::Boot, micros: 5_678_901 }));
        assert_eq!(msg(&e), LOG);
    }

    #[test]
    fn klogctl_priority() {
        let owned = format!("<4>[ 12.5] {LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Dmesg);
        assert_eq!(e.stamp.unwrap().micros, 12_500_000);
        assert_eq!(msg(&e), LOG);
    }

    #[test]
    fn journal_json_string_and_bytes() {
        let line = r#"{"__REALTIME_TIMESTAMP":"1795860001000000","_TRANSPORT":"kernel","MESSAGE":"[UFW BLOCK] IN=eth0 OUT= MAC=aa SRC=1.2.3.4"}"#;
        let e = strip(line.as_bytes());
        assert_eq!(e.kind, Kind::JournalJson);
        assert_eq!(msg(&e), LOG);
        assert_eq!(e.stamp.unwrap().clock, Clock::Wall);
        let bytes = r#"{"MESSAGE":[73,78,61,32],"_SOURCE_MONOTONIC_TIMESTAMP":"17"}"#;
        let e = strip(bytes.as_bytes());
        assert_eq!(msg(&e), "IN= ");
        assert_eq!(e.stamp, Some(Stamp { clock: Clock::Boot, micros: 17 }));
    }

    /// The in-place reader of plain journal JSON answers only where
    /// serde_json agrees, and takes the records journalctl writes.
    #[test]
    fn plain_json_agrees_with_serde() {
        let typical = r#"{"__REALTIME_TIMESTAMP":"1795860001000000","_TRANSPORT":"kernel","MESSAGE":"[UFW BLOCK] IN=eth0 OUT= SRC=1.2.3.4"}"#;
        assert!(journal_json_plain(typical.as_bytes()).is_some());
        for line in [
            typical,
            r#"{"MESSAGE":"a","_SOURCE_MONOTONIC_TIMESTAMP":"17"}"#,
            r#"{"__REALTIME_TIMESTAMP":"soon","_SOURCE_MONOTONIC_TIMESTAMP":"9","MESSAGE":""}"#,
            r#"{"MESSAGE":"a","MESSAGE":"b"}"#,
            r#"{"MESSAGE":"a "}"#,
            r#"{ "MESSAGE":"a"}"#,
            r#"{"MESSAGE":"a"} "#,
            r#"{"X":"1"}"#,
            r#"{"MESSAGE":"a","B"}"#,
            r#"{}"#,
        ] {
            if let Some(plain) = journal_json_plain(line.as_bytes()) {
                assert_eq!(Some(plain), journal_json(line.as_bytes()), "{line}");
            }
        }
    }

    proptest::proptest! {
        #[test]
        fn plain_json_never_disagrees(
            fields in proptest::collection::vec(
                ("(MESSAGE|__REALTIME_TIMESTAMP|_SOURCE_MONOTONIC_TIMESTAMP|X)", "[ -~]{0,8}"), 0..4),
            junk in "[ \",:{}]{0,2}",
        ) {
            let body: Vec<String> = fields.iter().map(|(k, v)| format!("\"{k}\":\"{v}\"")).collect();
            let line = format!("{{{}{junk}}}", body.join(","));
            if let Some(plain) = journal_json_plain(line.as_bytes()) {
                proptest::prop_assert_eq!(Some(plain), journal_json(line.as_bytes()), "{}", line);
            }
        }
    }

    #[test]
    fn journal_short_format_is_syslog() {
        let owned = format!("Nov 28 10:00:01 host kernel: {LOG}");
        let e = strip(owned.as_bytes());
        assert_eq!(e.kind, Kind::Syslog);
        assert_eq!(msg(&e), LOG);
    }

    #[test]
    fn civil_round_trip() {
        for d in [-1000, 0, 1, 59, 60, 365, 11_000, 20_000, 30_000] {
            let (y, m, dd) = civil_from_days(d);
            assert_eq!(days_from_civil(y, m, dd), d);
        }
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }
}
