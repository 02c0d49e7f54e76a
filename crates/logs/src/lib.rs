//! Read netfilter LOG lines wherever the kernel left them, tie each to the
//! rule that printed it, and summarise, follow, spot scans and build
//! blocklists.
//!
//! **Input**: raw lines in any envelope — syslog (`kern.log`, `ufw.log`),
//! RFC 3339 syslog, `dmesg` (`[12345.678]` or `-T`), `journalctl -k` and
//! `journalctl -o json`, `/dev/kmsg` records — from files (plain or gzip),
//! standard input, the kernel ring (`/dev/kmsg`, `klogctl`), a file followed
//! across rotation, `journalctl -f`, or NFLOG over netlink.
//!
//! **Output**: plain data ([`summary::Summary`], [`scans::Scan`],
//! [`event::Event`], blocklist text); this crate never prints, the CLI does.
//!
//! **Where to start reading**: [`envelope::strip`] takes the wrapper off a
//! line, [`line::parse`] reads the kernel's fields, [`attribute::Attributor`]
//! names the rule, and [`summary::Tally`] counts (in parallel over chunks).
//!
//! ```
//! use rampart_logs::{attribute::Attributor, envelope, line};
//!
//! let raw = b"Nov 28 10:00:01 web1 kernel: [12345.678901] RULE 16 -- DENY IN=eth0 OUT= \
//!     SRC=203.0.113.7 DST=192.0.2.10 LEN=60 TOS=0x00 PREC=0x00 TTL=51 ID=1 DF \
//!     PROTO=TCP SPT=51234 DPT=22 WINDOW=64240 RES=0x00 SYN URGP=0 ";
//! let env = envelope::strip(raw);
//! let l = line::parse(&env.message).unwrap();
//! assert_eq!(l.packet.dpt, Some(22));
//! let who = Attributor::default().attribute(l.prefix);
//! assert_eq!(who.rule(), Some(16));
//! ```

#![warn(missing_docs)]

pub mod attribute;
pub mod blocklist;
pub mod collect;
pub mod envelope;
pub mod event;
pub mod inputs;
pub mod line;
pub mod live;
pub mod partial;
pub mod scans;
pub mod source;
pub mod summary;
pub mod watch;

use std::io;

use source::LineSource;
use source::kmsg::{Kmsg, Start};

/// The kernel ring once through: `/dev/kmsg` when it can be opened, else
/// `klogctl` (containers without `/dev/kmsg`).
pub fn open_ring() -> io::Result<Box<dyn LineSource + Send>> {
    match Kmsg::open(Start::Oldest, false) {
        Ok(k) => Ok(Box::new(k)),
        Err(kmsg_err) => match source::kmsg::klogctl_read_all() {
            Ok(bytes) => Ok(Box::new(source::ReaderSource::new(io::Cursor::new(bytes), "klogctl"))),
            Err(e) => Err(io::Error::new(e.kind(), format!("/dev/kmsg: {kmsg_err}; klogctl: {e}"))),
        },
    }
}
