//! Installing the kit as a plan of steps: shown with `--dry-run`, applied
//! in order, and reversed exactly by uninstall from a record of what was
//! there before.
//!
//! Every path is under a root directory (`/` on a real host), so tests and
//! image builds never touch the host's /etc.

use std::fmt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{Error, Kit, paths};

/// One change to the system.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Record the viewer's owner and mode and whether the group existed,
    /// so uninstall can put them back.
    Record {
        path: String,
        state: State,
    },
    CreateGroup {
        group: String,
    },
    /// `chown root:GROUP` and `chmod 0750` the viewer.
    LockViewer {
        path: String,
        group: String,
    },
    /// Write to a temporary name, `visudo -c -f` it, then rename over.
    InstallSudoers {
        path: String,
        content: String,
    },
    WriteFile {
        path: String,
        mode: u32,
        content: String,
    },
    EnableTimer {
        unit: String,
    },
    DisableTimer {
        unit: String,
    },
    RemoveFile {
        path: String,
    },
    RestoreViewer {
        path: String,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    DeleteGroup {
        group: String,
    },
}

/// What was there before the kit, kept in the state directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct State {
    pub viewer_uid: u32,
    pub viewer_gid: u32,
    pub viewer_mode: u32,
    pub group_created: bool,
}

impl State {
    fn to_text(&self) -> String {
        format!(
            "viewer_uid={}\nviewer_gid={}\nviewer_mode={:o}\ngroup_created={}\n",
            self.viewer_uid, self.viewer_gid, self.viewer_mode, self.group_created
        )
    }

    fn parse(text: &str) -> Option<State> {
        let get = |k: &str| {
            text.lines().find_map(|l| l.strip_prefix(k).and_then(|r| r.strip_prefix('=')))
        };
        Some(State {
            viewer_uid: get("viewer_uid")?.parse().ok()?,
            viewer_gid: get("viewer_gid")?.parse().ok()?,
            viewer_mode: u32::from_str_radix(get("viewer_mode")?, 8).ok()?,
            group_created: get("group_created")? == "true",
        })
    }
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Paths are shown as on the installed system, whatever the root.
        let abs = |p: &str| format!("/{}", p.trim_start_matches('/'));
        match self {
            Step::Record { path, state } => write!(
                f,
                "record the viewer's owner {}:{} and mode {:04o} in {}",
                state.viewer_uid,
                state.viewer_gid,
                state.viewer_mode,
                abs(path)
            ),
            Step::CreateGroup { group } => write!(f, "create system group {group}"),
            Step::LockViewer { path, group } => {
                let path = abs(path);
                write!(f, "chown root:{group} {path}; chmod 0750 {path}")
            }
            Step::InstallSudoers { path, content } => write!(
                f,
                "install sudoers fragment {} (mode 0440, checked with visudo -c -f first):\n{}",
                abs(path),
                indent(content)
            ),
            Step::WriteFile { path, mode, content } => {
                write!(f, "write {} (mode {mode:04o}):\n{}", abs(path), indent(content))
            }
            Step::EnableTimer { unit } => {
                write!(f, "systemctl enable {unit} (and start it if systemd runs)")
            }
            Step::DisableTimer { unit } => {
                write!(f, "systemctl disable {unit} (and stop it if systemd runs)")
            }
            Step::RemoveFile { path } => write!(f, "remove {}", abs(path)),
            Step::RestoreViewer { path, uid, gid, mode } => {
                let path = abs(path);
                write!(f, "chown {uid}:{gid} {path}; chmod {mode:04o} {path}")
            }
            Step::DeleteGroup { group } => write!(f, "delete group {group}"),
        }
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    | {l}\n")).collect::<String>().trim_end().to_owned()
}

/// Paths inside the root directory.
#[derive(Clone, Debug)]
pub struct Root(pub PathBuf);

impl Root {
    #[must_use]
    pub fn join(&self, rel: &str) -> PathBuf {
        self.0.join(rel.trim_start_matches('/'))
    }

    fn is_host(&self) -> bool {
        self.0 == Path::new("/")
    }
}

fn state_path(kit: &Kit) -> String {
    format!("{}/{}.state", paths::STATE_DIR, kit.stem)
}

/// The steps that install `kit`. Reading only; nothing changes yet.
pub fn install_plan(kit: &Kit, root: &Root) -> Result<Vec<Step>, Error> {
    let a = &kit.access;
    let viewer = root.join(&a.viewer);
    let meta = std::fs::metadata(&viewer).map_err(|_| {
        Error::Missing(format!(
            "the viewer `{}` is not installed (apt-get install virt-viewer)",
            viewer.display()
        ))
    })?;
    let group_exists = group_id(root, &a.group)?.is_some();
    let state_rel = state_path(kit);
    let mut steps = Vec::new();
    // A second install keeps the record of the first: it holds the original.
    if !root.join(&state_rel).exists() {
        let state = State {
            viewer_uid: meta.uid(),
            viewer_gid: meta.gid(),
            viewer_mode: meta.mode() & 0o7777,
            group_created: !group_exists,
        };
        steps.push(Step::Record { path: state_rel, state });
    }
    if !group_exists {
        steps.push(Step::CreateGroup { group: a.group.clone() });
    }
    steps.push(Step::LockViewer { path: a.viewer.clone(), group: a.group.clone() });
    steps.push(Step::InstallSudoers { path: kit.sudoers_path(), content: kit.sudoers.clone() });
    for (path, mode, content) in kit.files() {
        steps.push(Step::WriteFile { path, mode, content: content.to_owned() });
    }
    steps.push(Step::EnableTimer { unit: kit.unit_name("timer") });
    Ok(steps)
}

/// The steps that take `kit` away, in reverse order of installing.
pub fn uninstall_plan(kit: &Kit, root: &Root) -> Result<Vec<Step>, Error> {
    let state_rel = state_path(kit);
    let text = std::fs::read_to_string(root.join(&state_rel)).map_err(|_| {
        Error::Missing(format!(
            "access kit `{}` is not installed under {} (no {state_rel})",
            kit.access.name,
            root.0.display()
        ))
    })?;
    let state = State::parse(&text)
        .ok_or_else(|| Error::Missing(format!("{state_rel} is not a state record of rampart")))?;
    let mut steps = vec![Step::DisableTimer { unit: kit.unit_name("timer") }];
    for (path, _, _) in kit.files().into_iter().rev() {
        steps.push(Step::RemoveFile { path });
    }
    steps.push(Step::RemoveFile { path: kit.sudoers_path() });
    steps.push(Step::RestoreViewer {
        path: kit.access.viewer.clone(),
        uid: state.viewer_uid,
        gid: state.viewer_gid,
        mode: state.viewer_mode,
    });
    if state.group_created {
        steps.push(Step::DeleteGroup { group: kit.access.group.clone() });
    }
    steps.push(Step::RemoveFile { path: state_rel });
    Ok(steps)
}

/// Apply the steps in order; stop at the first failure.
pub fn apply(steps: &[Step], root: &Root) -> Result<(), Error> {
    for s in steps {
        apply_step(s, root)?;
    }
    Ok(())
}

fn apply_step(step: &Step, root: &Root) -> Result<(), Error> {
    match step {
        Step::Record { path, state } => write_file(&root.join(path), 0o600, &state.to_text()),
        Step::CreateGroup { group } => {
            let mut args = vec!["--system"];
            let prefix = root.0.display().to_string();
            if !root.is_host() {
                args.extend(["--prefix", &prefix]);
            }
            args.push(group);
            run("groupadd", "passwd", &args)
        }
        Step::LockViewer { path, group } => {
            let gid = group_id(root, group)?
                .ok_or_else(|| Error::Missing(format!("group `{group}` does not exist")))?;
            set_owner_mode(&root.join(path), 0, gid, 0o750)
        }
        Step::InstallSudoers { path, content } => install_sudoers(&root.join(path), content),
        Step::WriteFile { path, mode, content } => write_file(&root.join(path), *mode, content),
        Step::EnableTimer { unit } | Step::DisableTimer { unit } => {
            let enable = matches!(step, Step::EnableTimer { .. });
            let verb = if enable { "enable" } else { "disable" };
            let prefix = format!("--root={}", root.0.display());
            if root.is_host() && Path::new("/run/systemd/system").exists() {
                run("systemctl", "systemd", &["daemon-reload"])?;
                run("systemctl", "systemd", &[verb, "--now", unit])
            } else {
                // No running systemd (an image, a container): links only.
                run("systemctl", "systemd", &[&prefix, verb, unit])
            }
        }
        Step::RemoveFile { path } => match std::fs::remove_file(root.join(path)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(io("cannot remove", &root.join(path), e))
            }
            _ => Ok(()),
        },
        Step::RestoreViewer { path, uid, gid, mode } => {
            set_owner_mode(&root.join(path), *uid, *gid, *mode)
        }
        Step::DeleteGroup { group } => {
            let prefix = root.0.display().to_string();
            let mut args = vec![];
            if !root.is_host() {
                args.extend(["--prefix", &prefix]);
            }
            args.push(group.as_str());
            run("groupdel", "passwd", &args)
        }
    }
}

/// Install a sudoers fragment atomically: a file sudo ignores (its name
/// has a `.`) is written and checked by `visudo -c -f`, then renamed over
/// the real name. A fragment visudo refuses never replaces anything.
pub fn install_sudoers(path: &Path, content: &str) -> Result<(), Error> {
    create_parent(path)?;
    let staged = rampart_os::stage(path, content.as_bytes(), 0o440)
        .map_err(|e| io("cannot write", path, e))?;
    // Dropped on refusal, the staged file is removed.
    visudo_check(staged.path())?;
    staged.commit().map_err(|e| io("cannot rename into place", path, e))
}

/// `visudo -c -f FILE`: does sudo accept this file? (Not `-q`: it hides
/// the syntax error the administrator needs to see.)
pub fn visudo_check(path: &Path) -> Result<(), Error> {
    let p = path.display().to_string();
    run("visudo", "sudo", &["-c", "-f", &p])
}

fn create_parent(path: &Path) -> Result<(), Error> {
    match path.parent() {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| io("cannot create directory", dir, e))
        }
        None => Ok(()),
    }
}

fn write_file(path: &Path, mode: u32, content: &str) -> Result<(), Error> {
    create_parent(path)?;
    rampart_os::write(path, content.as_bytes(), mode).map_err(|e| io("cannot write", path, e))
}

fn set_owner_mode(path: &Path, uid: u32, gid: u32, mode: u32) -> Result<(), Error> {
    std::os::unix::fs::chown(path, Some(uid), Some(gid))
        .map_err(|e| io("cannot chown", path, e))?;
    // chown clears set-id bits; the mode is set after it on purpose.
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| io("cannot chmod", path, e))
}

/// The GID of `group` in ROOT/etc/group.
pub fn group_id(root: &Root, group: &str) -> Result<Option<u32>, Error> {
    let path = root.join("etc/group");
    let text = std::fs::read_to_string(&path).map_err(|e| io("cannot read", &path, e))?;
    Ok(text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next() == Some(group)).then(|| f.nth(1).and_then(|g| g.parse().ok())).flatten()
    }))
}

fn run(tool: &str, package: &'static str, args: &[&str]) -> Result<(), Error> {
    rampart_os::run(Command::new(tool).args(args), package, None).map(drop).map_err(Error::from)
}

fn io(what: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io { what, path: path.display().to_string(), source }
}
