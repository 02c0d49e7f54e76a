//! The `rampart` binary as its users run it, in one test binary (as
//! ripgrep does): each module is one command family.

mod access;
mod ansible;
mod apply_safety;
mod boot;
mod cli;
mod coexist;
mod compile_nft;
mod completion;
mod containers;
mod counters;
mod deploy;
mod editors;
mod fmt;
mod fuzz;
mod hostile;
mod import_fwb;
mod kernel_limits;
mod lab;
mod logs;
mod lsp;
mod marks;
mod nft_rules;
mod preview;
mod readme;
mod reference;
mod report;
mod sets;
mod trace;
mod util;
