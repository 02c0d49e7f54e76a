//! What the synthetic policy holds, independent of any tool's syntax.

use std::net::Ipv4Addr;

/// An address column: one object of the catalogue.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Addr {
    /// `h{i}`: one host address.
    Host(usize),
    /// `hg{i}`: a group of two hosts, `h{i}a` and `h{i}b`.
    HostGroup(usize),
    /// `n{i}`: one /24 network.
    Net(usize),
    /// `ng{i}`: a group of two /24 networks, `n{i}a` and `n{i}b`.
    NetGroup(usize),
}

/// A service column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Service {
    /// `s{i}`: one TCP port (UDP when `i % 4 == 3`).
    Single(usize),
    /// `sg{i}`: a group of two TCP ports, `s{i}a` and `s{i}b`.
    Group(usize),
}

/// What a rule does, and the construct it exercises.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `accept from SRC to DST service SVC`.
    Accept,
    /// `deny from not SRC to DST service SVC log`: negation.
    DenyNot,
    /// `deny to DST service SVC log` inside a branch rule set.
    Deny,
    /// `accept from self to DST service SVC out user u{i}`: an owner match.
    User(usize),
    /// `branch br{i} from SRC`.
    Branch(usize),
    /// `reject from DST to SRC service SVC`: the columns swapped.
    Reject,
}

/// One rule of the policy.
#[derive(Clone, Debug)]
pub struct Rule {
    /// A name unique in the policy: `r{n}` in the main rule set, `b{j}r{k}`
    /// in branch rule set `j`.
    pub name: String,
    pub kind: Kind,
    pub src: Option<Addr>,
    pub dst: Option<Addr>,
    pub svc: Option<Service>,
    pub log: bool,
}

/// The whole policy: N rules, `main` first and then each branch rule set.
#[derive(Clone, Debug)]
pub struct Plan {
    pub n: usize,
    /// Source slots (hosts and host groups).
    pub src_slots: usize,
    /// Users `u0`…: one per user rule, so that no two user rules are alike
    /// in Firewall Builder's form, where they lose their port.
    pub users: usize,
    /// Destination slots (networks and network groups).
    pub dst_slots: usize,
    /// Service slots (services and service groups).
    pub svc_slots: usize,
    pub main: Vec<Rule>,
    /// `branches[j]` is rule set `br{j}`.
    pub branches: Vec<Vec<Rule>>,
}

/// Rules in each branch rule set.
pub const BRANCH_RULES: usize = 3;

/// The smallest N the plan supports (every branch rule set must be used).
pub const MIN_N: usize = 40;

impl Plan {
    /// The policy with `n` rules in all (`n >= MIN_N`).
    ///
    /// Every rule of the main rule set has its own (source, destination,
    /// service) slot triple, and the objects of different slots do not
    /// overlap, so rules shadow others only through negation (`deny from
    /// not SRC`), which `rampart check` reports; Firewall Builder's
    /// shadowing check must compare every pair.
    #[must_use]
    pub fn new(n: usize) -> Plan {
        let n = n.max(MIN_N);
        let n_branch = (n / 250).max(2);
        let n_main = n - BRANCH_RULES * n_branch;
        let side = cbrt_ceil(n_main);
        let dst_slots = side;
        let svc_slots = side;
        let mut src_slots = n_main.div_ceil(dst_slots * svc_slots);
        // Keep the source slot from following the rule kind (i % 10).
        if src_slots.is_multiple_of(2) || src_slots.is_multiple_of(5) {
            src_slots += 1;
            while src_slots.is_multiple_of(2) || src_slots.is_multiple_of(5) {
                src_slots += 1;
            }
        }
        let src = |a: usize| if a.is_multiple_of(4) { Addr::HostGroup(a) } else { Addr::Host(a) };
        let dst = |b: usize| if b.is_multiple_of(4) { Addr::NetGroup(b) } else { Addr::Net(b) };
        let svc =
            |c: usize| if c.is_multiple_of(4) { Service::Group(c) } else { Service::Single(c) };
        let main = (0..n_main)
            .map(|i| {
                let a = i % src_slots;
                let b = (i / src_slots) % dst_slots;
                let c = i / (src_slots * dst_slots) % svc_slots;
                let (s, d, v) = (Some(src(a)), Some(dst(b)), Some(svc(c)));
                let name = format!("r{}", i + 1);
                let rule = |kind, src, dst, svc, log| Rule {
                    name: name.clone(),
                    kind,
                    src,
                    dst,
                    svc,
                    log,
                };
                match i % 10 {
                    6 => rule(Kind::DenyNot, s, d, v, true),
                    7 => rule(Kind::User(i / 10), None, d, v, false),
                    8 => rule(Kind::Branch(i / 10 % n_branch), s, None, None, false),
                    9 => rule(Kind::Reject, d, s, v, false),
                    _ => rule(Kind::Accept, s, d, v, i.is_multiple_of(50)),
                }
            })
            .collect();
        let branches = (0..n_branch)
            .map(|j| {
                (0..BRANCH_RULES)
                    .map(|k| Rule {
                        name: format!("b{j}r{k}"),
                        kind: if k + 1 == BRANCH_RULES { Kind::Deny } else { Kind::Accept },
                        src: None,
                        dst: Some(dst(k % dst_slots)),
                        svc: Some(svc((j + k) % svc_slots)),
                        log: k + 1 == BRANCH_RULES,
                    })
                    .collect()
            })
            .collect();
        let users = n_main.div_ceil(10);
        Plan { n, src_slots, users, dst_slots, svc_slots, main, branches }
    }

    /// Every rule, main first.
    pub fn rules(&self) -> impl Iterator<Item = &Rule> {
        self.main.iter().chain(self.branches.iter().flatten())
    }

    /// The source slots as objects: `Host` or `HostGroup`.
    pub fn src_objects(&self) -> impl Iterator<Item = Addr> {
        (0..self.src_slots)
            .map(|a| if a.is_multiple_of(4) { Addr::HostGroup(a) } else { Addr::Host(a) })
    }

    /// The destination slots as objects: `Net` or `NetGroup`.
    pub fn dst_objects(&self) -> impl Iterator<Item = Addr> {
        (0..self.dst_slots)
            .map(|b| if b.is_multiple_of(4) { Addr::NetGroup(b) } else { Addr::Net(b) })
    }

    /// The service slots as objects.
    pub fn svc_objects(&self) -> impl Iterator<Item = Service> {
        (0..self.svc_slots)
            .map(|c| if c.is_multiple_of(4) { Service::Group(c) } else { Service::Single(c) })
    }
}

impl Addr {
    /// The name of the object in every form.
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Addr::Host(i) => format!("h{i}"),
            Addr::HostGroup(i) => format!("hg{i}"),
            Addr::Net(i) => format!("n{i}"),
            Addr::NetGroup(i) => format!("ng{i}"),
        }
    }

    /// The leaf objects: (name, address, prefix length).
    #[must_use]
    pub fn leaves(self) -> Vec<(String, Ipv4Addr, u8)> {
        let host = |i: usize, k: u32| {
            Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 64, 0, 0)) + 4 * i as u32 + k)
        };
        let net = |i: usize, k: u32| {
            Ipv4Addr::from(u32::from(Ipv4Addr::new(10, 128, 0, 0)) + ((2 * i as u32 + k) << 8))
        };
        match self {
            Addr::Host(i) => vec![(format!("h{i}"), host(i, 1), 32)],
            Addr::HostGroup(i) => {
                vec![(format!("h{i}a"), host(i, 1), 32), (format!("h{i}b"), host(i, 2), 32)]
            }
            Addr::Net(i) => vec![(format!("n{i}"), net(i, 0), 24)],
            Addr::NetGroup(i) => {
                vec![(format!("n{i}a"), net(i, 0), 24), (format!("n{i}b"), net(i, 1), 24)]
            }
        }
    }

    #[must_use]
    pub fn is_group(self) -> bool {
        matches!(self, Addr::HostGroup(_) | Addr::NetGroup(_))
    }
}

impl Service {
    #[must_use]
    pub fn name(self) -> String {
        match self {
            Service::Single(i) => format!("s{i}"),
            Service::Group(i) => format!("sg{i}"),
        }
    }

    /// The leaf services: (name, protocol, destination port).
    #[must_use]
    pub fn leaves(self) -> Vec<(String, &'static str, u16)> {
        let port = |i: usize, k: u16| 1000 + 2 * i as u16 + k;
        match self {
            Service::Single(i) => {
                vec![(format!("s{i}"), if i % 4 == 3 { "udp" } else { "tcp" }, port(i, 0))]
            }
            Service::Group(i) => {
                vec![(format!("s{i}a"), "tcp", port(i, 0)), (format!("s{i}b"), "tcp", port(i, 1))]
            }
        }
    }

    /// The one protocol of the service (groups hold one protocol).
    #[must_use]
    pub fn proto(self) -> &'static str {
        self.leaves()[0].1
    }
}

fn cbrt_ceil(n: usize) -> usize {
    let mut s = 1;
    while s * s * s < n {
        s += 1;
    }
    s
}
