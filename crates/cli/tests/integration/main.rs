//! The `rampart` binary as its users run it, in one test binary (as
//! ripgrep does): each module is one command family.

mod access;
mod cli;
mod compile_nft;
mod completion;
mod deploy;
mod lab;
mod logs;
mod reference;
mod trace;
mod util;
