//! `rampart-package DIR`: writes the systemd units the Debian package ships
//! in /usr/lib/systemd/system, from the definitions `rampart
//! install-service` uses, with the paths of an installed package.

use anyhow::Context;
use rampart_deploy::systemd;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os().nth(1).context("usage: rampart-package DIR")?;
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let units = [
        (
            "rampart.service",
            systemd::firewall_unit(
                "/usr/sbin/iptables-restore",
                systemd::RULES_PATH,
                ("/usr/sbin/ip6tables-restore", "/etc/rampart/rules.v6"),
            ),
        ),
        (
            "rampart-logs.service",
            systemd::logs_unit("/usr/bin/rampart", "/var/log/rampart/firewall.log"),
        ),
    ];
    for (name, text) in units {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
