//! `rampart-package DIR`: writes the systemd units the Debian package ships
//! in /usr/lib/systemd/system, from the definitions `rampart
//! install-service` uses, with the paths of an installed package.

use anyhow::Context;
use rampart_deploy::state::DEFAULT_BOOT_DIR;
use rampart_deploy::systemd;

fn main() -> anyhow::Result<()> {
    let dir = std::env::args_os().nth(1).context("usage: rampart-package DIR")?;
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir)?;
    let boot = |name: &str| format!("{DEFAULT_BOOT_DIR}/{name}");
    let units = [
        (
            "rampart.service",
            systemd::firewall_unit(
                ("/usr/sbin/iptables", "/usr/sbin/iptables-restore", &boot(systemd::RULES_V4)),
                ("/usr/sbin/ip6tables", "/usr/sbin/ip6tables-restore", &boot(systemd::RULES_V6)),
            )?,
        ),
        ("rampart-nft.service", systemd::nft_unit("/usr/sbin/nft", &boot(systemd::RULES_NFT))?),
        (
            "rampart-logs.service",
            systemd::logs_unit("/usr/bin/rampart", "/var/log/rampart/firewall.log")?,
        ),
    ];
    for (name, text) in units {
        let path = dir.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
