//! `rampart access`: the console access kit of a firewall (sudoers
//! fragment, launcher, audit units), generated, installed, audited.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use rampart_access::install::{self, Root};
use rampart_access::{Kit, audit, check};
use rampart_diag::Sources;
use rampart_model::{Access, Firewall};

use crate::commands::INVALID;
use crate::policy;
use crate::printer;

/// Generate, install, remove and audit the access kit of an `access`
/// declaration: one user, one VM console.
#[derive(Debug, clap::Args)]
pub(crate) struct AccessArgs {
    #[command(subcommand)]
    command: AccessCommand,
}

#[derive(Debug, clap::Subcommand)]
enum AccessCommand {
    /// Write the kit's files into a directory, laid out as under `/`.
    ///
    /// First proves with the evaluator that the firewall's rules let each
    /// granted user reach only their console; writes nothing if not.
    Generate(GenerateArgs),
    /// Install the kit: group, viewer mode, sudoers, launcher, audit timer.
    Install(InstallArgs),
    /// Remove exactly what `install` did, restoring the viewer's owner and mode.
    Uninstall(InstallArgs),
    /// Compare the system with the kit; exit 1 on drift.
    Audit(AuditArgs),
}

#[derive(Debug, clap::Args)]
struct Select {
    /// The policy file.
    policy: PathBuf,
    /// The firewall (client host) whose kit to build; needed when the policy has several.
    #[arg(long, short = 'f', add = crate::complete::firewall())]
    firewall: Option<String>,
    /// The access declaration; needed when the firewall has several.
    #[arg(long, short = 'a')]
    access: Option<String>,
    /// The rampart binary the audit service runs.
    #[arg(long, value_name = "PATH", default_value = "/usr/local/bin/rampart")]
    rampart: String,
}

#[derive(Debug, clap::Args)]
struct GenerateArgs {
    #[command(flatten)]
    select: Select,
    /// The directory to write into (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    output: PathBuf,
}

#[derive(Debug, clap::Args)]
struct InstallArgs {
    #[command(flatten)]
    select: Select,
    /// Install under this directory instead of `/` (an image, a test).
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Print every change and make none.
    #[arg(long)]
    dry_run: bool,
}

#[derive(Debug, clap::Args)]
struct AuditArgs {
    #[command(flatten)]
    select: Select,
    /// Audit under this directory instead of `/`.
    #[arg(long, value_name = "DIR", default_value = "/")]
    root: PathBuf,
    /// Repair the viewer's owner and mode, the sudoers fragment, the
    /// launcher and the units. Missing firewall rules are reported only:
    /// load them with `rampart apply`.
    #[arg(long)]
    fix: bool,
    /// Read the loaded rules from this `iptables-save` output instead of
    /// running `iptables-save -t filter`.
    #[arg(long, value_name = "FILE", conflicts_with = "no_firewall")]
    iptables_save: Option<PathBuf>,
    /// Do not check the loaded firewall rules.
    #[arg(long)]
    no_firewall: bool,
}

pub(crate) fn run(a: &AccessArgs) -> anyhow::Result<ExitCode> {
    match &a.command {
        AccessCommand::Generate(g) => generate(g),
        AccessCommand::Install(i) => install(i, true),
        AccessCommand::Uninstall(i) => install(i, false),
        AccessCommand::Audit(a) => audit(a),
    }
}

/// The kit of the selected declaration, or the exit code when the policy
/// has errors or the firewall's rules disagree with the declaration.
fn kit(s: &Select, prove: bool) -> anyhow::Result<Result<Kit, ExitCode>> {
    let mut sources = Sources::new();
    let Some(model) =
        policy::load_valid(&s.policy, &mut sources, policy::Analysis::Errors, "done")?
    else {
        return Ok(Err(ExitCode::from(INVALID)));
    };
    let fw = policy::pick(&model, s.firewall.as_deref())?;
    let access = pick(&model.accesses, fw, s.access.as_deref())?;
    if prove {
        let problems = check::check(access, fw);
        if !problems.is_empty() {
            let mut msg = format!(
                "error: the rules of firewall `{}` do not implement access `{}`:\n",
                fw.name, access.name
            );
            for p in &problems {
                msg.push_str(&format!("  {p}\n"));
            }
            msg.push_str("nothing was done");
            printer::note(&msg);
            return Ok(Err(ExitCode::from(INVALID)));
        }
    }
    let policy = std::fs::canonicalize(&s.policy).unwrap_or_else(|_| s.policy.clone());
    let policy = policy.display().to_string();
    let audit = [
        s.rampart.as_str(),
        "access",
        "audit",
        &policy,
        "--firewall",
        &fw.name,
        "--access",
        &access.name,
    ];
    Ok(Ok(Kit::new(access, fw, &audit)?))
}

fn pick<'m>(all: &'m [Access], fw: &Firewall, name: Option<&str>) -> anyhow::Result<&'m Access> {
    let mine: Vec<&Access> = all.iter().filter(|a| a.firewall == fw.name).collect();
    let names = || mine.iter().map(|a| a.name.as_str()).collect::<Vec<_>>().join(", ");
    match (name, mine.as_slice()) {
        (Some(n), _) => mine.iter().copied().find(|a| a.name == n).with_context(|| {
            format!("firewall `{}` has no access `{n}` (it has: {})", fw.name, names())
        }),
        (None, [one]) => Ok(one),
        (None, []) => anyhow::bail!(
            "firewall `{}` has no access declaration; add `access NAME for {} {{ ... }}`",
            fw.name,
            fw.name
        ),
        (None, _) => anyhow::bail!(
            "firewall `{}` has several access declarations ({}); choose one with --access",
            fw.name,
            names()
        ),
    }
}

fn generate(g: &GenerateArgs) -> anyhow::Result<ExitCode> {
    let kit = match kit(&g.select, true)? {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let root = Root(g.output.clone());
    // The fragment first, proved by the real parser (when installed) under
    // a name sudo ignores: a refused one is removed and nothing is written.
    let sudoers = root.join(&kit.sudoers_path());
    match install::install_sudoers(&sudoers, &kit.sudoers) {
        Ok(()) => printer::note(&format!("{}: visudo -c accepts it", sudoers.display())),
        Err(rampart_access::Error::Tool(rampart_os::ToolError::Spawn { .. })) => {
            write(&sudoers, 0o440, &kit.sudoers)?;
            printer::note(
                "note: visudo is not installed (apt-get install sudo); fragment not checked",
            );
        }
        Err(e) => return Err(e).context("the generated sudoers fragment is refused"),
    }
    printer::out(&format!("{}\n", sudoers.display()));
    let mut files = kit.files();
    let rules = format!("etc/rampart/{}.rules.v4", kit.stem);
    files.push((rules, 0o644, kit.rules.as_str()));
    for (rel, mode, content) in &files {
        write(&root.join(rel), *mode, content)?;
        printer::out(&format!("{}\n", root.join(rel).display()));
    }
    Ok(ExitCode::SUCCESS)
}

/// Through the one atomic write: never half a file, and the mode from
/// the start (a sudoers fragment is never readable by others, even briefly).
fn write(path: &Path, mode: u32, content: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create directory `{}`", dir.display()))?;
    }
    rampart_os::write(path, content.as_bytes(), mode)
        .with_context(|| format!("cannot write `{}`", path.display()))
}

fn install(i: &InstallArgs, installing: bool) -> anyhow::Result<ExitCode> {
    let kit = match kit(&i.select, installing)? {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let root = Root(i.root.clone());
    let steps = if installing {
        install::install_plan(&kit, &root)?
    } else {
        install::uninstall_plan(&kit, &root)?
    };
    let verb = if installing { "install" } else { "uninstall" };
    if i.dry_run {
        let mut text = format!(
            "{verb} access kit `{}` under {} ({} steps, dry run: nothing changed)\n",
            kit.access.name,
            root.0.display(),
            steps.len()
        );
        for (n, s) in steps.iter().enumerate() {
            text.push_str(&format!("{:>2}. {s}\n", n + 1));
        }
        printer::out(&text);
        return Ok(ExitCode::SUCCESS);
    }
    for s in &steps {
        install::apply(std::slice::from_ref(s), &root)
            .with_context(|| format!("{verb} stopped at: {}", first_line(s)))?;
        printer::note(&format!("done: {}", first_line(s)));
    }
    Ok(ExitCode::SUCCESS)
}

fn first_line(s: &install::Step) -> String {
    s.to_string().lines().next().unwrap_or("").trim_end_matches(':').to_owned()
}

fn audit(a: &AuditArgs) -> anyhow::Result<ExitCode> {
    let kit = match kit(&a.select, false)? {
        Ok(k) => k,
        Err(code) => return Ok(code),
    };
    let root = Root(a.root.clone());
    let loaded = if a.no_firewall {
        None
    } else if let Some(f) = &a.iptables_save {
        Some(std::fs::read_to_string(f).with_context(|| format!("cannot read `{}`", f.display()))?)
    } else {
        Some(rampart_deploy::iptables::save(rampart_ir::Family::V4)?)
    };
    let findings = audit::audit(&kit, &root, loaded.as_deref())?;
    if findings.is_empty() {
        printer::note(&format!("access kit `{}`: no drift", kit.access.name));
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = format!("access kit `{}`: {} problem(s)\n", kit.access.name, findings.len());
    for f in &findings {
        text.push_str(&format!("  drift: {f}\n"));
    }
    printer::out(&text);
    if !a.fix {
        return Ok(ExitCode::from(INVALID));
    }
    let steps = audit::fix_plan(&kit, &findings);
    for s in &steps {
        install::apply(std::slice::from_ref(s), &root)
            .with_context(|| format!("fix stopped at: {}", first_line(s)))?;
        printer::note(&format!("fixed: {}", first_line(s)));
    }
    let left = audit::audit(&kit, &root, loaded.as_deref())?;
    if left.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        let mut text = String::from("still wrong after --fix:\n");
        for f in &left {
            text.push_str(&format!("  drift: {f}\n"));
        }
        if left.iter().any(|f| matches!(f, audit::Finding::RulesMissing { .. })) {
            text.push_str("load the firewall with `rampart apply POLICY`\n");
        }
        printer::out(&text);
        Ok(ExitCode::from(INVALID))
    }
}
