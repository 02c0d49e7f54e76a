//! systemd units, all of them: load the firewall at boot before the network
//! comes up (iptables or nft), keep a log collector running, audit an
//! access kit hourly. Every value that comes from outside (paths, names)
//! goes through [`command_line`] or [`path`], which quote and escape it as
//! systemd.syntax(7) reads it back, and refuse what cannot be written.

use std::fmt::Write;

use crate::DeployError;

/// The boot files, in the directory `install-service` and `apply` share.
pub const RULES_V4: &str = "rules.v4";
pub const RULES_V6: &str = "rules.v6";
pub const RULES_NFT: &str = "rules.nft";

fn refuse(what: &str, value: &str, why: &str) -> DeployError {
    DeployError::Unit(format!(
        "{what} `{}` cannot go into a systemd unit: {why}",
        value.escape_debug()
    ))
}

/// A value systemd takes as it is, apart from `%` specifiers: escaped
/// `%%`; control characters (a newline would start a new setting) refused.
fn plain(what: &str, value: &str) -> Result<String, DeployError> {
    if value.chars().any(char::is_control) {
        return Err(refuse(what, value, "it holds a control character"));
    }
    Ok(value.replace('%', "%%"))
}

/// An absolute path for a setting such as `ConditionPathExists=`.
pub fn path(value: &str) -> Result<String, DeployError> {
    if !value.starts_with('/') {
        return Err(refuse("path", value, "it is not absolute"));
    }
    if value.ends_with(char::is_whitespace) {
        return Err(refuse("path", value, "it ends in white space"));
    }
    plain("path", value)
}

/// One word of a command line: `%` and `$` doubled (no specifier, no
/// variable), and in double quotes with `\` and `"` escaped when it holds
/// white space, quotes or backslashes, is empty, or is `;` (which would
/// separate commands).
fn word(w: &str) -> Result<String, DeployError> {
    let w = plain("argument", w)?.replace('$', "$$");
    let quote = w.is_empty()
        || w == ";"
        || w.chars().any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
    Ok(if quote { format!("\"{}\"", w.replace('\\', "\\\\").replace('"', "\\\"")) } else { w })
}

/// An `ExecStart=` value that systemd splits back into exactly `argv`; the
/// program must be an absolute path.
pub fn command_line(argv: &[&str]) -> Result<String, DeployError> {
    let Some(program) = argv.first() else {
        return Err(DeployError::Unit("an empty command line".into()));
    };
    path(program)?;
    Ok(argv.iter().map(|w| word(w)).collect::<Result<Vec<_>, _>>()?.join(" "))
}

/// `rampart.service`: loads the iptables boot files (`--noflush`: only
/// Rampart's chains and hooks) before any interface is up. Run again, it
/// first takes out the hooks an earlier run put in, in the filter and the
/// nat table (`-` ignores the ones that are not there), so each built-in
/// chain keeps one.
pub fn firewall_unit(
    (iptables, restore, rules): (&str, &str, &str),
    (ip6tables, restore6, rules6): (&str, &str, &str),
) -> Result<String, DeployError> {
    let mut s = boot_unit("iptables", "iptables-restore(8)", rules)?;
    for tool in [iptables, ip6tables] {
        for table in [rampart_ir::Table::Filter, rampart_ir::Table::Nat] {
            for b in table.hooks().iter().map(|h| h.chain()) {
                let own = rampart_emit::hooked::own_chain(b);
                let argv = [tool, "-w", "-t", table.name(), "-D", b, "-j", &own];
                let _ = writeln!(s, "ExecStartPre=-{}", command_line(&argv)?);
            }
        }
    }
    let _ = writeln!(s, "ExecStart={}", command_line(&[restore, "-w", "--noflush", rules])?);
    let _ = writeln!(s, "ExecStart={}", command_line(&[restore6, "-w", "--noflush", rules6])?);
    s.push_str("\n[Install]\nWantedBy=sysinit.target\n");
    Ok(s)
}

/// The start of a boot unit for `backend`, up to its `[Service]` lines:
/// one shot before the network, only when `rules` exists.
fn boot_unit(backend: &str, man: &str, rules: &str) -> Result<String, DeployError> {
    let mut s = format!(
        "[Unit]\n\
         Description=Rampart firewall, {backend} (load the applied rules before the network)\n\
         Documentation=man:{man}\n\
         DefaultDependencies=no\n\
         Before=network-pre.target shutdown.target\n\
         Wants=network-pre.target\n\
         After=local-fs.target systemd-modules-load.service\n\
         Conflicts=shutdown.target\n"
    );
    let _ = writeln!(s, "ConditionPathExists={}", path(rules)?);
    s.push_str("\n[Service]\nType=oneshot\nRemainAfterExit=yes\n");
    Ok(s)
}

/// `rampart-nft.service`: loads the nft boot file (which replaces only
/// Rampart's tables), ordered as nftables.service is.
pub fn nft_unit(nft: &str, rules: &str) -> Result<String, DeployError> {
    let mut s = boot_unit("nftables", "nft(8)", rules)?;
    let _ = writeln!(s, "ExecStart={}", command_line(&[nft, "-f", rules])?);
    s.push_str("\n[Install]\nWantedBy=sysinit.target\n");
    Ok(s)
}

/// `rampart-logs.service`: writes every firewall line to a file, for hosts
/// whose journal never sees kernel LOG lines.
pub fn logs_unit(rampart: &str, log_file: &str) -> Result<String, DeployError> {
    Ok(format!(
        "[Unit]\n\
         Description=Rampart firewall log collector\n\
         After=rampart.service rampart-nft.service\n\
         \n\
         [Service]\n\
         ExecStart={}\n\
         Restart=on-failure\n\
         \n\
         [Install]\n\
         WantedBy=multi-user.target\n",
        command_line(&[rampart, "logs", "collect", "--to", log_file])?
    ))
}

/// `rampart-NAME-audit.service` and `.timer` of an access kit: the audit
/// runs at boot and hourly, so a package update that resets the viewer's
/// mode is caught.
pub fn audit_units(name: &str, argv: &[&str]) -> Result<(String, String), DeployError> {
    let name = plain("name", name)?;
    let service = format!(
        "[Unit]\n\
         Description=Rampart access kit audit ({name})\n\
         Documentation=man:sudoers(5)\n\
         After=local-fs.target rampart.service\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={}\n",
        command_line(argv)?
    );
    let timer = format!(
        "[Unit]\n\
         Description=Hourly Rampart access kit audit ({name})\n\
         \n\
         [Timer]\n\
         OnBootSec=5min\n\
         OnCalendar=hourly\n\
         Persistent=true\n\
         \n\
         [Install]\n\
         WantedBy=timers.target\n"
    );
    Ok((service, timer))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_and_escaped_as_systemd_reads_them() {
        let line =
            command_line(&["/opt/my rampart/bin", "50%h", "$HOME", "a\"b\\c", "", ";", "-w"])
                .unwrap();
        assert_eq!(line, r#""/opt/my rampart/bin" 50%%h $$HOME "a\"b\\c" "" ";" -w"#);
        for bad in [&["relative"][..], &["/bin/x", "a\nExecStartPre=/bin/evil"], &[]] {
            assert!(command_line(bad).is_err(), "{bad:?}");
        }
        assert!(path("/etc/rampart/rules.v4 ").is_err());
        assert_eq!(path("/etc/50%/x").unwrap(), "/etc/50%%/x");
    }
}
