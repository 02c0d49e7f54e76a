//! Kernel log lines, read from `/dev/kmsg`, for checking what LOG rules
//! printed. Netfilter only logs from namespaces other than the first when
//! `net.netfilter.nf_log_all_netns` is 1 ([`crate::evidence::NetnsLogging`]).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::OpenOptionsExt;

use crate::LabError;

/// `O_NONBLOCK` on Linux (x86_64 and aarch64).
const O_NONBLOCK: i32 = 0o4000;

/// A reader positioned at the end of the kernel log: [`Kmsg::lines`]
/// returns only what was printed after [`Kmsg::open`].
#[derive(Debug)]
pub struct Kmsg {
    file: File,
}

impl Kmsg {
    pub fn open() -> Result<Self, LabError> {
        let err = |source| LabError::Io { what: "open /dev/kmsg".into(), source };
        let mut file = OpenOptions::new()
            .read(true)
            .custom_flags(O_NONBLOCK)
            .open("/dev/kmsg")
            .map_err(err)?;
        file.seek(SeekFrom::End(0)).map_err(err)?;
        Ok(Self { file })
    }

    /// New messages (the text after the `prio,seq,time,flags;` header),
    /// oldest first.
    pub fn lines(&mut self) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 8192];
        loop {
            match self.file.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    let rec = String::from_utf8_lossy(&buf[..n]);
                    let msg = rec.split_once(';').map_or(&*rec, |(_, m)| m);
                    out.push(msg.lines().next().unwrap_or("").to_owned());
                }
                // EPIPE: records were overwritten; go on with the next.
                Err(e) if e.raw_os_error() == Some(32) => {}
                Err(_) => break,
            }
        }
        out
    }
}
