//! systemd units for the periodic audit of the kit.

/// `rampart-NAME-audit.service` and `.timer`: the audit runs at boot and
/// hourly, so a package update that resets the viewer's mode is caught.
#[must_use]
pub fn audit_units(name: &str, command: &str) -> (String, String) {
    let service = format!(
        "[Unit]\n\
         Description=Rampart access kit audit ({name})\n\
         Documentation=man:sudoers(5)\n\
         After=local-fs.target rampart.service\n\
         \n\
         [Service]\n\
         Type=oneshot\n\
         ExecStart={command}\n"
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
    (service, timer)
}
