//! A compiled firewall in one JSON document: what `rampart apply
//! --compiled` loads on a host that has no policy or compiler, and what
//! `rampart apply --host` sends over SSH.
//!
//! It carries the documents for both backends, the interfaces (to tell
//! which one a management connection arrives on) and the run-time sets the
//! rules match (an iptables line names a set only; `apply` creates the
//! ipset as declared). The iptables documents
//! are read back into the IR on the host, so the lock-out guard traces the
//! very rules that get loaded; the nft document may touch Rampart's tables
//! only. A digest over everything else ties the two together: a bundle
//! edited by hand, or damaged on the way, is refused, and `rampart status`
//! shows the digest of what was applied.

use std::net::IpAddr;

use rampart_diag::FileId;
use rampart_ir::read::{self, Format};
use rampart_ir::{DynSet, Family, Match, Restricted, SetMatch, Table};
use serde::{Deserialize, Serialize};

use crate::DeployError;

/// Why a compiled bundle cannot be used. A cause is kept as the source
/// (printed after the message, as every error chain is), not in the text.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BundleError {
    #[error("not a compiled rampart bundle (JSON)")]
    NotJson(#[source] serde_json::Error),
    #[error("not a compiled rampart bundle: no `rampart_bundle`")]
    NoFormat,
    #[error(
        "bundle format {found} is not known to this rampart (it reads format {FORMAT}); \
         use the same rampart version on both sides"
    )]
    Format { found: u32 },
    #[error("malformed bundle")]
    Malformed(#[source] serde_json::Error),
    #[error(
        "the bundle's digest does not match its content: it was changed after \
         `rampart compile` (or damaged); nothing was loaded"
    )]
    Digest,
    #[error("the bundle's nft document is refused: {0}")]
    NftScope(String),
    #[error("the bundle's set `{set}` has family `{family}`, not ipv4 or ipv6")]
    SetFamily { set: String, family: String },
    #[error("the bundle's rules match set `{0}`, which it does not declare for that family")]
    UndeclaredSet(String),
    #[error("the bundle's rules")]
    Rules(#[source] rampart_ir::NotRestricted),
    #[error("the bundle's {family} iptables document does not read back: {message}")]
    Unreadable { family: &'static str, message: String },
    #[error(
        "the bundle's {family} iptables document has a `{table}` table: a bundle carries the \
         filter, nat and mangle tables only"
    )]
    Table { family: &'static str, table: &'static str },
    #[error("the bundle's {family} iptables document has no filter table")]
    NoFilter { family: &'static str },
}

/// The bundle format this build reads and writes.
pub const FORMAT: u32 = 3;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Bundle {
    /// Format version; a reader refuses one it does not know.
    pub rampart_bundle: u32,
    /// The policy file it was compiled from, for `rampart status`.
    pub policy: String,
    pub firewall: String,
    pub interfaces: Vec<Iface>,
    /// `iptables-restore` documents.
    pub iptables_v4: String,
    pub iptables_v6: String,
    /// The `nft -f` document (inet and bridge tables, ARP guard).
    pub nft: String,
    /// The run-time sets the iptables documents match, as declared.
    pub sets: Vec<Set>,
    /// SHA-256 of the bundle with this field empty (see [`Bundle::sealed`]).
    pub digest: String,
}

/// A run-time set (`set NAME ipv4 [timeout ..] [size N]`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Set {
    pub name: String,
    /// `ipv4` or `ipv6`.
    pub family: String,
    pub timeout: Option<u32>,
    pub size: Option<u32>,
}

impl Set {
    #[must_use]
    pub fn of(set: &DynSet) -> Self {
        let family = match set.family {
            Family::V4 => "ipv4",
            Family::V6 => "ipv6",
        };
        Set { name: set.name.clone(), family: family.into(), timeout: set.timeout, size: set.size }
    }

    fn declared(&self) -> Result<DynSet, DeployError> {
        let family = match self.family.as_str() {
            "ipv4" => Family::V4,
            "ipv6" => Family::V6,
            other => {
                return Err(BundleError::SetFamily {
                    set: self.name.clone(),
                    family: other.to_owned(),
                }
                .into());
            }
        };
        Ok(DynSet { name: self.name.clone(), family, timeout: self.timeout, size: self.size })
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Iface {
    pub name: String,
    pub addrs: Vec<IpAddr>,
    pub management: bool,
}

impl Bundle {
    /// Read a bundle, refusing other formats and documents that do not
    /// parse, with a sentence that says which.
    pub fn from_json(text: &str) -> Result<Self, DeployError> {
        #[derive(Deserialize)]
        struct Head {
            rampart_bundle: Option<u32>,
        }
        let head: Head = serde_json::from_str(text).map_err(BundleError::NotJson)?;
        match head.rampart_bundle {
            Some(FORMAT) => {}
            Some(found) => return Err(BundleError::Format { found }.into()),
            None => return Err(BundleError::NoFormat.into()),
        }
        let b: Self = serde_json::from_str(text).map_err(BundleError::Malformed)?;
        if b.digest != b.content_digest() {
            return Err(BundleError::Digest.into());
        }
        crate::nft::check_scope(&b.nft).map_err(BundleError::NftScope)?;
        Ok(b)
    }

    /// The bundle with its digest set; what `rampart compile` writes.
    #[must_use]
    pub fn sealed(mut self) -> Self {
        self.digest = self.content_digest();
        self
    }

    fn content_digest(&self) -> String {
        let unsealed = Self { digest: String::new(), ..self.clone() };
        crate::digest(&serde_json::to_string(&unsealed).expect("a bundle serialises"))
    }

    #[must_use]
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("a bundle serialises") + "\n"
    }

    /// The IPv4 and IPv6 rulesets, read back from the iptables documents.
    pub fn rulesets(&self) -> Result<(Restricted, Restricted), DeployError> {
        let sets = self.sets.iter().map(Set::declared).collect::<Result<Vec<_>, _>>()?;
        Ok((
            declared(import(&self.iptables_v4, "IPv4")?, &sets, Family::V4)?,
            declared(import(&self.iptables_v6, "IPv6")?, &sets, Family::V6)?,
        ))
    }

    /// The interface a connection to `server` arrives on: the one holding
    /// that address, else the management interface.
    #[must_use]
    pub fn arrival_iface(&self, server: Option<IpAddr>) -> Option<String> {
        let holds = |i: &&Iface| server.is_some_and(|s| i.addrs.contains(&s));
        self.interfaces
            .iter()
            .find(holds)
            .or_else(|| self.interfaces.iter().find(|i| i.management))
            .map(|i| i.name.clone())
    }
}

/// `rs` with each set it matches as the bundle declares it (an iptables
/// line gives the name only); a set the bundle does not declare, or of the
/// other family, is refused. A reader that keeps `-m set` verbatim gets it
/// typed here, so that `apply` creates the ipset as declared.
fn declared(rs: Restricted, sets: &[DynSet], family: Family) -> Result<Restricted, DeployError> {
    let mut rs = rs.into_ruleset();
    for m in rs.chains.iter_mut().flat_map(|c| &mut c.rules).flat_map(|r| &mut r.matches) {
        if let Some(typed) = set_match(m, family) {
            *m = Match::Set(typed.into());
        }
        let Match::Set(s) = m else { continue };
        let Some(d) = sets.iter().find(|d| d.name == s.set.name && d.family == s.set.family) else {
            return Err(BundleError::UndeclaredSet(s.set.name.clone()).into());
        };
        s.set = d.clone();
    }
    Ok(Restricted::new(rs).map_err(BundleError::Rules)?)
}

/// `-m set [!] --match-set NAME src|dst` kept verbatim, as a set match
/// of the document's family (its declaration is filled in after).
fn set_match(m: &Match, family: Family) -> Option<SetMatch> {
    let Match::Unknown(u) = m else { return None };
    let module = &u.module;
    let args: Vec<&str> = u.args.iter().map(String::as_str).collect();
    let (neg, rest) = match args.as_slice() {
        ["!", rest @ ..] => (true, rest),
        rest => (false, rest),
    };
    let ["--match-set", name, dir @ ("src" | "dst")] = rest else { return None };
    (module == "set").then(|| SetMatch {
        set: DynSet { name: (*name).to_owned(), family, timeout: None, size: None },
        src: *dir == "src",
        neg,
    })
}

fn import(doc: &str, family: &'static str) -> Result<Restricted, BundleError> {
    let imported = read::parse(doc, FileId(0), Format::Save);
    if let Some(d) = imported.diagnostics.iter().find(|d| d.is_error()) {
        return Err(BundleError::Unreadable { family, message: d.message.clone() });
    }
    if let Some(t) = imported
        .tables
        .iter()
        .find(|t| !matches!(t.table, Table::Filter | Table::Nat | Table::Mangle))
    {
        return Err(BundleError::Table { family, table: t.table.name() });
    }
    imported.joined().ok_or(BundleError::NoFilter { family })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle() -> Bundle {
        Bundle {
            rampart_bundle: FORMAT,
            policy: "p.rp".into(),
            firewall: "gw".into(),
            interfaces: vec![
                Iface {
                    name: "eth0".into(),
                    addrs: vec!["10.0.0.1".parse().unwrap()],
                    management: false,
                },
                Iface { name: "eth1".into(), addrs: vec![], management: true },
            ],
            iptables_v4:
                "*filter\n:INPUT DROP [0:0]\n-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT\nCOMMIT\n"
                    .into(),
            iptables_v6: "*filter\n:INPUT DROP [0:0]\nCOMMIT\n".into(),
            nft: "table inet rampart {\n}\n".into(),
            sets: vec![],
            digest: String::new(),
        }
        .sealed()
    }

    /// A refused bundle is a typed error that keeps the parser's error as
    /// its cause, not a sentence with the cause folded in.
    #[test]
    fn refusals_are_typed_and_keep_their_cause() {
        use std::error::Error as _;
        let e = Bundle::from_json("{").unwrap_err();
        let DeployError::Bundle(BundleError::NotJson(_)) = &e else { panic!("{e:?}") };
        assert!(e.source().is_some_and(|s| s.is::<serde_json::Error>()), "{e:?}");
        let damaged = bundle().sealed().to_json().replace("eth0", "eth9");
        let e = Bundle::from_json(&damaged).unwrap_err();
        assert!(matches!(e, DeployError::Bundle(BundleError::Digest)), "{e:?}");
        let newer = bundle().sealed().to_json().replacen(
            &format!("\"rampart_bundle\": {FORMAT}"),
            "\"rampart_bundle\": 99",
            1,
        );
        let e = Bundle::from_json(&newer).unwrap_err();
        assert!(matches!(e, DeployError::Bundle(BundleError::Format { found: 99 })), "{e:?}");
        assert!(e.to_string().contains("use the same rampart version on both sides"), "{e}");
    }

    #[test]
    fn round_trips_and_reads_its_rules_back() {
        let b = bundle();
        let back = Bundle::from_json(&b.to_json()).unwrap();
        assert_eq!(back, b);
        let (v4, v6) = back.rulesets().unwrap();
        assert_eq!(v4.rule_count(), 1);
        assert_eq!(v6.rule_count(), 0);
    }

    /// An iptables line names a set only: its family, timeout and size
    /// come from the bundle's declaration, and an undeclared one is refused.
    #[test]
    fn sets_as_the_bundle_declares_them() {
        use rampart_ir::{Chain, Hook, Policy, Rule, Ruleset, Target};
        let named = DynSet { name: "bl".into(), family: Family::V4, timeout: None, size: None };
        let mut input = Chain::builtin(Hook::Input, Policy::Drop);
        let m = SetMatch { set: named, src: true, neg: false };
        input.rules.push(Rule::new(vec![Match::Set(m.into())], Target::Drop));
        let rs = || Restricted::new(Ruleset { chains: vec![input.clone()] }).unwrap();
        let set = Set { name: "bl".into(), family: "ipv4".into(), timeout: Some(3600), size: None };
        let got = declared(rs(), &[set.declared().unwrap()], Family::V4).unwrap();
        assert_eq!(rampart_ir::sets(&got), [set.declared().unwrap()]);
        assert_eq!(Set::of(&set.declared().unwrap()), set);
        let err = declared(rs(), &[], Family::V4).unwrap_err().to_string();
        assert!(err.contains("set `bl`, which it does not declare"), "{err}");
        let v6 = Set { family: "ipv6".into(), ..set.clone() };
        assert!(declared(rs(), &[v6.declared().unwrap()], Family::V4).is_err());
        // Kept verbatim by a reader: typed, then declared.
        let verbatim = |args: &[&str]| {
            Match::unknown("set".into(), args.iter().map(|a| (*a).to_owned()).collect())
        };
        let typed = set_match(&verbatim(&["!", "--match-set", "bl", "dst"]), Family::V6).unwrap();
        assert!(typed.neg && !typed.src && typed.set.family == Family::V6);
        assert!(set_match(&verbatim(&["--match-set", "bl", "src,dst"]), Family::V4).is_none());
        let odd = Set { family: "inet".into(), ..set };
        assert!(odd.declared().unwrap_err().to_string().contains("not ipv4 or ipv6"));
    }

    #[test]
    fn refuses_what_it_cannot_read() {
        let err = |t: &str| Bundle::from_json(t).unwrap_err().to_string();
        assert!(err("*filter").contains("not a compiled rampart bundle"));
        assert!(err("{}").contains("no `rampart_bundle`"));
        assert!(err(r#"{"rampart_bundle": 99}"#).contains("format 99"));
        let mut b = bundle();
        b.iptables_v4 = "*filter\n-A INPUT --bogus\nCOMMIT\n".into();
        assert!(b.rulesets().unwrap_err().to_string().contains("IPv4"));
        b.iptables_v4 = "*filter\nCOMMIT\n*raw\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n".into();
        assert!(b.rulesets().unwrap_err().to_string().contains("`raw` table"));
    }

    #[test]
    fn refuses_a_bundle_changed_after_compiling_or_touching_other_tables() {
        let mut b = bundle();
        b.nft.push_str("flush ruleset\n");
        assert!(Bundle::from_json(&b.to_json()).unwrap_err().to_string().contains("digest"));
        let b = b.sealed();
        let err = Bundle::from_json(&b.to_json()).unwrap_err().to_string();
        assert!(err.contains("flush ruleset") && err.contains("Rampart's own tables"), "{err}");
    }

    #[test]
    fn the_session_arrives_where_its_address_is() {
        let b = bundle();
        assert_eq!(b.arrival_iface("10.0.0.1".parse().ok()).as_deref(), Some("eth0"));
        assert_eq!(b.arrival_iface("10.9.9.9".parse().ok()).as_deref(), Some("eth1"));
        assert_eq!(b.arrival_iface(None).as_deref(), Some("eth1"));
    }
}
