//! Shared by the kernel tests that start from a policy's text.

#![allow(dead_code)] // each test binary uses part of it

/// Replaces whatever the firewall namespace has loaded (both backends,
/// and with them every rate bucket and mark rule) by one backend's
/// document: `iptables` (restore text) when `backend` is "iptables", else
/// `nft` (an `nft -f` document).
pub fn load_fresh(fw: &rampart_lab::Netns, backend: &str, iptables: &str, nft: &str) {
    let open = "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n\
                *mangle\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n";
    fw.run_with_input(&["iptables-restore", "-w"], open).unwrap();
    fw.run(["nft", "flush", "ruleset"]).unwrap();
    if backend == "iptables" {
        fw.run_with_input(&["iptables-restore", "-w"], iptables).unwrap();
    } else {
        fw.run_with_input(&["nft", "-f", "-"], nft).unwrap();
    }
}
