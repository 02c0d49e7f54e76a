//! Where lines come from: files and stdin, the kernel ring, live follows.

pub mod file;
