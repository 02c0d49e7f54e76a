//! Rate and connection limits: matches whose answer depends on what came
//! before (packets over time, open connections), not on the packet alone.

/// The period of a rate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RateUnit {
    Second,
    Minute,
    Hour,
    Day,
}

impl RateUnit {
    pub const ALL: [RateUnit; 4] =
        [RateUnit::Second, RateUnit::Minute, RateUnit::Hour, RateUnit::Day];

    /// The word the policy and nft use: `second`, `minute`, ...
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            RateUnit::Second => "second",
            RateUnit::Minute => "minute",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }

    /// The word iptables-save prints: `sec`, `min`, `hour`, `day`.
    #[must_use]
    pub fn iptables_name(self) -> &'static str {
        match self {
            RateUnit::Second => "sec",
            RateUnit::Minute => "min",
            RateUnit::Hour => "hour",
            RateUnit::Day => "day",
        }
    }

    #[must_use]
    pub fn seconds(self) -> u64 {
        match self {
            RateUnit::Second => 1,
            RateUnit::Minute => 60,
            RateUnit::Hour => 3600,
            RateUnit::Day => 86_400,
        }
    }
}

/// `count` packets per `unit`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Rate {
    pub count: u32,
    pub unit: RateUnit,
}

impl Rate {
    /// The fastest rate the kernel's limit and hashlimit matches take.
    pub const MAX_PER_SECOND: u32 = 10_000;

    /// `3/minute`.
    #[must_use]
    pub fn text(self) -> String {
        format!("{}/{}", self.count, self.unit.name())
    }
}

/// A token bucket: the rule matches while packets arrive under `rate`,
/// after a first `burst` of packets.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Limit {
    pub rate: Rate,
    pub burst: u32,
    /// One bucket per source address, kept in the table of this name
    /// (`-m hashlimit --hashlimit-name`, an nft set); `None`: one bucket.
    pub per_source: Option<String>,
}

impl Limit {
    /// The burst both backends assume when none is given.
    pub const DEFAULT_BURST: u32 = 5;

    /// How long an idle source's bucket is kept, in milliseconds: the time a
    /// bucket takes to fill up again, so forgetting it gives nothing away.
    #[must_use]
    pub fn expire_ms(&self) -> u64 {
        let per_token = self.rate.unit.seconds() * 1000 / u64::from(self.rate.count.max(1));
        (per_token * u64::from(self.burst)).max(1000)
    }

    /// `3/minute burst 5 per source`, as the policy writes it.
    #[must_use]
    pub fn text(&self) -> String {
        let mut s = format!("{} burst {}", self.rate.text(), self.burst);
        if self.per_source.is_some() {
            s.push_str(" per source");
        }
        s
    }
}

/// The rule matches while at most `upto` connections are open, counting
/// the new one (per source address when `per_source` is set).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ConnLimit {
    pub upto: u32,
    /// The nft set that counts per source; `None`: one count for all.
    pub per_source: Option<String>,
}

impl Limit {
    /// The match as iptables-save prints it, with a leading space.
    #[must_use]
    pub fn iptables(&self) -> String {
        let rate = format!("{}/{}", self.rate.count, self.rate.unit.iptables_name());
        match &self.per_source {
            None if self.burst == Self::DEFAULT_BURST => format!(" -m limit --limit {rate}"),
            None => format!(" -m limit --limit {rate} --limit-burst {}", self.burst),
            Some(name) => {
                let mut s = format!(
                    " -m hashlimit --hashlimit-upto {rate} --hashlimit-burst {} \
                     --hashlimit-mode srcip --hashlimit-name {name}",
                    self.burst
                );
                // iptables-save leaves out the default of ten seconds.
                if self.expire_ms() != 10_000 {
                    s.push_str(&format!(" --hashlimit-htable-expire {}", self.expire_ms()));
                }
                s
            }
        }
    }
}

impl ConnLimit {
    /// The match as iptables-save prints it, with a leading space.
    #[must_use]
    pub fn iptables(&self, family: crate::Family) -> String {
        let mask = match (&self.per_source, family) {
            (None, _) => 0,
            (Some(_), crate::Family::V4) => 32,
            (Some(_), crate::Family::V6) => 128,
        };
        format!(
            " -m connlimit --connlimit-upto {} --connlimit-mask {mask} --connlimit-saddr",
            self.upto
        )
    }
}
