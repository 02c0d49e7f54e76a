//! systemd units: load the firewall at boot before the network comes up,
//! and keep a log collector running. (The access kit installs its own audit
//! timer with `rampart access install`.)

/// Where `install-service` puts the compiled rules, so boot needs no compiler.
pub const RULES_PATH: &str = "/etc/rampart/rules.v4";

/// `rampart.service`: loads the compiled rules before any interface is up.
#[must_use]
pub fn firewall_unit(restore: &str, rules: &str, (restore6, rules6): (&str, &str)) -> String {
    let mut s = format!(
        "[Unit]\n\
         Description=Rampart firewall (load compiled rules before the network)\n\
         Documentation=man:iptables-restore(8)\n\
         DefaultDependencies=no\n\
         Before=network-pre.target\n\
         Wants=network-pre.target\n\
         After=local-fs.target systemd-modules-load.service\n\
         ConditionPathExists={rules}\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         RemainAfterExit=yes\n\
         ExecStart={restore} -w {rules}\n"
    );
    s.push_str(&format!("ExecStart={restore6} -w {rules6}\n"));
    s.push_str("\n[Install]\nWantedBy=sysinit.target\n");
    s
}

/// `rampart-logs.service`: writes every firewall line to a file, for hosts
/// whose journal never sees kernel LOG lines.
#[must_use]
pub fn logs_unit(rampart: &str, log_file: &str) -> String {
    format!(
        "[Unit]\n\
         Description=Rampart firewall log collector\n\
         After=rampart.service\n\
         \n\
         [Service]\n\
         ExecStart={rampart} logs collect --to {log_file}\n\
         Restart=on-failure\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n"
    )
}
