//! Integration tests of the nft backend. Root and `nft` are required for
//! `check` and `kernel`; they fail (never skip) without them.

// Hand-built rich-form rulesets, as the lowering produces them.
mod fixtures;
// Helpers to run `nft` and to make a throwaway network namespace.
mod sys;

// Insta snapshots of the emitted text.
mod snapshots;
// `nft -c -f` accepts every fixture's output.
mod check;
// Load into a namespace's kernel and read the ruleset back as JSON.
mod kernel;
// The iptables and the nft output give the same verdicts to the same probes.
mod equiv;
// Bridge ports: forged sources stop at the port, with either backend.
mod bridge;
// Random policies, compared the same way.
mod random;
// The rich form and the iptables form agree in the evaluator.
mod evaluator;
// Rampart's nft output read back from the kernel traces as its policy.
mod readback;
// What the tests say to `rampart-nft-helper`, the listener and prober that
// `equiv` runs inside its namespaces.
mod protocol;
// Per-source limits fill dynamic sets; limited rules are never merged.
mod limits;
