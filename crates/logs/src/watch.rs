//! `follow`: the firewall lines of live sources as events, filtered and
//! tied to their rules, with the losses between them.

use crate::attribute::{Attributor, RuleLookup};
use crate::envelope;
use crate::event::{Event, Filter};
use crate::line;
use crate::live::{Live, LiveError, Record};

/// What `follow` shows next.
#[derive(Debug)]
pub enum Shown {
    /// A firewall line that passed the filters.
    Event(Box<Event>),
    /// Records the sources lost: `n` now, `total` so far.
    Lost {
        /// Lost now.
        n: u64,
        /// Lost since the start.
        total: u64,
    },
}

/// The events of live sources. Counts the lines read in part and the
/// records lost, for the exit status.
pub struct Watch<'a> {
    live: Live,
    attributor: Attributor,
    filter: Filter,
    rules: Option<&'a dyn RuleLookup>,
    /// Firewall lines read only in part (shown, with what was not read).
    pub partial: u64,
    /// Records the sources lost.
    pub lost: u64,
}

impl<'a> Watch<'a> {
    /// Watch `live`: lines attributed by `attributor`, kept when they pass
    /// `filter`, tied to `rules` when given.
    pub fn new(
        live: Live,
        attributor: Attributor,
        filter: Filter,
        rules: Option<&'a dyn RuleLookup>,
    ) -> Watch<'a> {
        Watch { live, attributor, filter, rules, partial: 0, lost: 0 }
    }
}

impl Iterator for Watch<'_> {
    type Item = Result<Shown, LiveError>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            match self.live.wait()? {
                Ok(Record::Line(raw)) => {
                    let env = envelope::strip(&raw);
                    let Some(l) = line::parse(&env.message) else { continue };
                    self.partial += u64::from(!l.unread.is_empty());
                    let who = self.attributor.attribute(l.prefix);
                    if !self.filter.matches(&l, &who) {
                        continue;
                    }
                    let mut ev = Event::new(&l, env.stamp, who);
                    if let Some(rules) = self.rules {
                        ev = ev.with_policy(rules);
                    }
                    return Some(Ok(Shown::Event(Box::new(ev))));
                }
                Ok(Record::Lost(n)) => {
                    self.lost += n;
                    return Some(Ok(Shown::Lost { n, total: self.lost }));
                }
                Err(e) => return Some(Err(e)),
            }
        }
    }
}
