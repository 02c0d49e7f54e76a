//! `rampart top`: the counters per policy rule as a live table.

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::Context;
use rampart_deploy::counters::Tally;
use rampart_deploy::state::{APPLIED, Applied};
use rampart_diag::printable;
use ratatui::Frame;
use ratatui::crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers};
use ratatui::layout::{Constraint, Layout};
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Cell, Row, Table};

use crate::commands::INVALID;
use crate::commands::counters::{self, Counts};
use crate::commands::deploy::StateArgs;
use crate::printer;

/// How often each policy rule matches, live: the table of `status
/// --counters`, busiest first, with packets per second since the last
/// refresh. q, Esc or Ctrl-C quits.
#[derive(Debug, clap::Args)]
pub(crate) struct TopArgs {
    /// Seconds between refreshes.
    #[arg(long, default_value = "2", value_name = "SECONDS")]
    interval: f64,
    #[command(flatten)]
    state: StateArgs,
}

pub(crate) fn run(a: &TopArgs) -> anyhow::Result<ExitCode> {
    let state = a.state.dir();
    let Some(record) = state.read_json::<Applied>(APPLIED)? else {
        printer::note("error: nothing applied by rampart: no counters to show");
        return Ok(ExitCode::from(INVALID));
    };
    if !(a.interval > 0.0 && a.interval.is_finite()) {
        anyhow::bail!("--interval must be a positive number of seconds");
    }
    // The policy is read once; the counters at every refresh.
    let places = counters::applied_places(&record);
    let interval = Duration::from_secs_f64(a.interval);
    let mut terminal = ratatui::try_init().context("cannot take over the terminal")?;
    let shown = (|| -> anyhow::Result<()> {
        let mut last: Option<(Instant, BTreeMap<u32, u64>)> = None;
        loop {
            let Some(c) = counters::read(&state, Some(&places))? else {
                anyhow::bail!("the applied ruleset was rolled back to nothing");
            };
            let now = Instant::now();
            let rates = rates(last.as_ref(), now, &c.tally);
            last = Some((now, c.tally.rules.iter().map(|h| (h.rule, h.packets)).collect()));
            terminal.draw(|f| draw(f, &c, &rates))?;
            if quit_within(interval)? {
                return Ok(());
            }
        }
    })();
    ratatui::try_restore().context("cannot give the terminal back")?;
    shown.map(|()| ExitCode::SUCCESS)
}

/// Packets per second of each rule since the previous reading.
fn rates(
    last: Option<&(Instant, BTreeMap<u32, u64>)>,
    now: Instant,
    t: &Tally,
) -> BTreeMap<u32, f64> {
    let Some((then, before)) = last else { return BTreeMap::new() };
    let secs = now.duration_since(*then).as_secs_f64().max(f64::EPSILON);
    t.rules
        .iter()
        .filter_map(|h| {
            // Counters that went down were reloaded: no rate for that round.
            let was = before.get(&h.rule)?;
            let delta = h.packets.checked_sub(*was)?;
            #[allow(clippy::cast_precision_loss)] // a rate, shown to one decimal
            Some((h.rule, delta as f64 / secs))
        })
        .collect()
}

/// Wait up to `d` for a key; whether it asks to quit.
fn quit_within(d: Duration) -> anyhow::Result<bool> {
    let end = Instant::now() + d;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() || !event::poll(left)? {
            return Ok(false);
        }
        if let Event::Key(k) = event::read()?
            && k.kind == KeyEventKind::Press
            && (matches!(k.code, KeyCode::Char('q') | KeyCode::Esc)
                || k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL))
        {
            return Ok(true);
        }
    }
}

/// One frame: a title, the table, and a line on what is left out.
pub(crate) fn draw(f: &mut Frame<'_>, c: &Counts, rates: &BTreeMap<u32, f64>) {
    let [table_area, footer] =
        Layout::vertical([Constraint::Min(3), Constraint::Length(1)]).areas(f.area());
    let header = Row::new(["RULE", "PACKETS", "PKT/S", "BYTES", "RULE SET", "WHERE", "COMMENT"])
        .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = c.tally.rules.iter().map(|h| {
        let rate = rates.get(&h.rule).map_or_else(|| "-".to_owned(), |r| format!("{r:.1}"));
        Row::new([
            Cell::from(format!("R{}", h.rule)),
            Cell::from(Line::from(h.packets.to_string()).right_aligned()),
            Cell::from(Line::from(rate).right_aligned()),
            Cell::from(Line::from(h.bytes.to_string()).right_aligned()),
            Cell::from(shown(h.ruleset.as_deref().unwrap_or("-"))),
            Cell::from(shown(h.at.as_deref().unwrap_or("-"))),
            Cell::from(shown(counters::comment(h))),
        ])
    });
    let widths = [
        Constraint::Length(7),
        Constraint::Length(12),
        Constraint::Length(9),
        Constraint::Length(14),
        Constraint::Length(12),
        Constraint::Length(28),
        Constraint::Fill(1),
    ];
    let title = format!(
        " rampart top: firewall {} (version {}), q quits ",
        printable(&c.record.firewall),
        printable(&c.record.version)
    );
    f.render_widget(
        Table::new(rows, widths).header(header).block(Block::bordered().title(title)),
        table_area,
    );
    let never = rampart_deploy::counters::never_hit(&c.tally).len();
    let mut note = format!("{never} rule(s) never hit since load");
    if !c.tally.shared.is_empty() {
        note.push_str(&format!("; {} merged nft rule(s) count for several", c.tally.shared.len()));
    }
    if let Some(why) = &c.unplaced {
        note.push_str(&format!("; no lines: {}", printable(why)));
    }
    f.render_widget(Line::from(note), footer);
}

/// Text from the kernel or the state file, as the printer shows it: the
/// terminal would drop a control character silently, and a direction mark
/// would reorder the row.
fn shown(text: &str) -> String {
    printable(text).into_owned()
}

#[cfg(test)]
mod tests {
    use rampart_deploy::counters::Hits;
    use ratatui::Terminal;
    use ratatui::backend::TestBackend;

    use super::*;

    #[test]
    fn the_table_shows_each_rule_busiest_first() {
        let record: Applied = serde_json::from_value(serde_json::json!({
            "policy": "gw.rp", "firewall": "gw", "version": "abc123", "applied_at": 0, "chains": []
        }))
        .unwrap();
        let hit = |rule, packets, comment: &str| Hits {
            rule,
            comment: (!comment.is_empty()).then(|| comment.to_owned()),
            packets,
            bytes: packets * 60,
            ruleset: Some("main".into()),
            at: Some(format!("gw.rp:{}", rule + 20)),
            uncounted: None,
        };
        let tally = Tally {
            rules: vec![
                hit(7, 1500, "web"),
                hit(3, 0, "printers"),
                hit(4, 0, "a\u{1b}[2J\u{202e}b"),
            ],
            shared: vec![],
        };
        let c = Counts { record, tally, unplaced: None };
        let rates = BTreeMap::from([(7, 12.5)]);
        let mut t = Terminal::new(TestBackend::new(120, 8)).unwrap();
        t.draw(|f| draw(f, &c, &rates)).unwrap();
        let lines: Vec<String> = t
            .backend()
            .buffer()
            .content
            .chunks(120)
            .map(|row| row.iter().map(ratatui::buffer::Cell::symbol).collect())
            .collect();
        let screen = lines.join("\n");
        assert!(
            lines[0].contains("rampart top: firewall gw (version abc123), q quits"),
            "{screen}"
        );
        assert!(lines[1].contains("RULE") && lines[1].contains("PKT/S"), "{screen}");
        let (r7, r3) = (&lines[2], &lines[3]);
        assert!(r7.contains("R7") && r7.contains("1500") && r7.contains("12.5"), "{screen}");
        assert!(r7.contains("gw.rp:27") && r7.contains("web"), "{screen}");
        assert!(r3.contains("R3") && r3.contains(" - ") && r3.contains("printers"), "{screen}");
        // Escaped as the printer escapes it, not dropped or obeyed.
        assert!(lines[4].contains("a\\u{1b}[2J\\u{202e}b"), "{screen}");
        assert!(lines[7].starts_with("2 rule(s) never hit since load"), "{screen}");
    }
}
