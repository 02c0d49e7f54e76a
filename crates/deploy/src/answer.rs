//! What a host's rampart prints for `apply --json` and `status --json`,
//! and what the pushing rampart reads back over SSH: one set of types,
//! serialised by one end and read by the other.

use serde::{Deserialize, Serialize};

use crate::apply::ApplyOutcome;
use crate::diff::ChainDiff;
use crate::status::Status;

/// `rampart apply --json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "lowercase")]
pub enum ApplyAnswer {
    /// Loaded: the version, the try's deadline (seconds since the epoch)
    /// and the changes per chain.
    Applied { version: String, pending_deadline: Option<u64>, changes: Vec<ChainDiff> },
    /// The lock-out guard refused; nothing was loaded.
    Refused { refused: Refusal },
}

/// Why the guard refused: which packet would get which verdict, and the
/// rule that decides it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Refusal {
    pub packet: String,
    pub verdict: String,
    pub decided_by: String,
}

impl ApplyAnswer {
    #[must_use]
    pub fn of(o: &ApplyOutcome) -> Self {
        match o {
            ApplyOutcome::Refused(cut) => ApplyAnswer::Refused {
                refused: Refusal {
                    packet: cut.packet.to_owned(),
                    verdict: cut.verdict.clone(),
                    decided_by: cut.decided_by.clone(),
                },
            },
            ApplyOutcome::Applied { diff, version, pending } => ApplyAnswer::Applied {
                version: version.clone(),
                pending_deadline: pending.as_ref().map(|p| p.deadline),
                changes: diff.clone(),
            },
        }
    }
}

/// `rampart status --json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusAnswer {
    /// What was applied; none when Rampart applied nothing.
    pub applied: Option<AppliedSummary>,
    /// The deadline of a try waiting for `rampart confirm`.
    pub pending_confirmation: Option<u64>,
    /// Seconds a try is past its deadline without a rollback.
    pub overdue_secs: Option<u64>,
    /// How the boot files differ from what was applied (empty: they
    /// match); none without a boot directory.
    pub boot: Option<Vec<String>>,
    /// Rampart's chains as loaded, against what was applied.
    pub drift: Vec<ChainDiff>,
}

/// The part of the applied record a status shows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppliedSummary {
    pub policy: String,
    pub firewall: String,
    pub version: String,
    pub applied_at: u64,
    /// The digest of the bundle applied.
    pub bundle: String,
}

/// A host's status in one word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Rampart applied nothing there.
    Nothing,
    Drift,
    /// A try is past its deadline and was not rolled back.
    Overdue,
    /// The boot files differ from what was applied.
    Boot,
    /// A try waits for its confirmation.
    Pending,
    Match,
}

impl State {
    #[must_use]
    pub fn word(self) -> &'static str {
        match self {
            State::Nothing => "nothing",
            State::Drift => "drift",
            State::Overdue => "overdue",
            State::Boot => "boot",
            State::Pending => "pending",
            State::Match => "match",
        }
    }
}

impl StatusAnswer {
    #[must_use]
    pub fn of(s: &Status) -> Self {
        StatusAnswer {
            applied: s.applied.as_ref().map(|a| AppliedSummary {
                policy: a.policy.clone(),
                firewall: a.firewall.clone(),
                version: a.version.clone(),
                applied_at: a.applied_at,
                bundle: a.bundle.clone(),
            }),
            pending_confirmation: s.pending.as_ref().map(|p| p.deadline),
            overdue_secs: s.overdue,
            boot: s.boot.clone(),
            drift: s.drift.clone(),
        }
    }

    /// The worst that holds, in this order: nothing applied, drift,
    /// overdue, boot files, pending, match.
    #[must_use]
    pub fn state(&self) -> State {
        if self.applied.is_none() {
            State::Nothing
        } else if !self.drift.is_empty() {
            State::Drift
        } else if self.overdue_secs.is_some() {
            State::Overdue
        } else if self.boot.as_ref().is_some_and(|b| !b.is_empty()) {
            State::Boot
        } else if self.pending_confirmation.is_some() {
            State::Pending
        } else {
            State::Match
        }
    }

    /// One line for a fleet's summary.
    #[must_use]
    pub fn detail(&self) -> String {
        let Some(a) = &self.applied else { return "no ruleset applied by rampart".into() };
        let what = format!("firewall {} version {}", a.firewall, a.version);
        match self.state() {
            State::Drift => {
                format!("{what}: {} chain(s) differ from what was applied", self.drift.len())
            }
            State::Pending => format!("{what}, waiting for `rampart confirm`"),
            State::Overdue => {
                format!("{what}: a try is past its deadline and was not rolled back")
            }
            State::Boot => format!("{what}: the boot files differ from what was applied"),
            State::Match | State::Nothing => what,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_read_back_as_written() {
        let a = ApplyAnswer::Refused {
            refused: Refusal {
                packet: "p".into(),
                verdict: "DROP".into(),
                decided_by: "R0".into(),
            },
        };
        let text = serde_json::to_string(&a).unwrap();
        assert!(text.starts_with("{\"outcome\":\"refused\""), "{text}");
        assert_eq!(serde_json::from_str::<ApplyAnswer>(&text).unwrap(), a);
        // An answer this version does not know is an error, never an outcome.
        assert!(serde_json::from_str::<ApplyAnswer>("{\"outcome\":\"maybe\"}").is_err());
    }

    #[test]
    fn a_host_status_in_one_word() {
        let applied = AppliedSummary {
            policy: "p.rp".into(),
            firewall: "gw".into(),
            version: "v".into(),
            applied_at: 0,
            bundle: String::new(),
        };
        let base =
            StatusAnswer { applied: Some(applied), boot: Some(vec![]), ..Default::default() };
        assert_eq!(base.state(), State::Match);
        assert_eq!(StatusAnswer { overdue_secs: Some(30), ..base.clone() }.state(), State::Overdue);
        let boot = Some(vec!["/etc/rampart/rules.v4: missing".to_owned()]);
        assert_eq!(StatusAnswer { boot, ..base.clone() }.state(), State::Boot);
        let pending = StatusAnswer { pending_confirmation: Some(1), ..base.clone() };
        assert_eq!(pending.state(), State::Pending);
        assert_eq!(pending.detail(), "firewall gw version v, waiting for `rampart confirm`");
        assert_eq!(StatusAnswer::default().state(), State::Nothing);
    }
}
