//! Running a tool: text on its stdin, its stdout back, and on failure its
//! own words (stderr, else stdout) in one typed error.

use std::io::Write;
use std::process::{Command, Output, Stdio};

/// Why a tool did not do its job.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ToolError {
    /// It could not be started (usually: not installed).
    #[error("cannot run `{tool}`: {source} (install it: apt-get install {package})")]
    Spawn { tool: String, package: &'static str, source: std::io::Error },
    /// It ran and refused; `stderr` says why.
    #[error("`{tool}` failed: {stderr}")]
    Failed { tool: String, stderr: String },
}

/// Run `cmd` (its program from Debian package `package`) with `input` on
/// stdin; its stdout when it succeeds.
pub fn run(
    cmd: &mut Command,
    package: &'static str,
    input: Option<&str>,
) -> Result<String, ToolError> {
    let out = output(cmd, package, input)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if stderr.is_empty() {
        stderr = stdout.trim().to_owned();
    }
    let tool = cmd.get_program().to_string_lossy().into_owned();
    Err(ToolError::Failed { tool, stderr })
}

/// Run `cmd` as [`run`] does, and give back all it did, whatever its exit
/// status: for a caller that reads the status itself (ssh's is the remote
/// command's).
pub fn output(
    cmd: &mut Command,
    package: &'static str,
    input: Option<&str>,
) -> Result<Output, ToolError> {
    let tool = cmd.get_program().to_string_lossy().into_owned();
    let spawn = |source| ToolError::Spawn { tool: tool.clone(), package, source };
    let mut child = cmd
        .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(spawn)?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // A tool that exits early closes its stdin; its stderr says why.
        let _ = stdin.write_all(text.as_bytes());
    }
    child.wait_with_output().map_err(spawn)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn output_input_and_both_failures() {
        let out = run(Command::new("cat").arg("-"), "coreutils", Some("hello")).unwrap();
        assert_eq!(out, "hello");
        let err = run(Command::new("sh").args(["-c", "echo no >&2; exit 3"]), "dash", None);
        assert_eq!(err.unwrap_err().to_string(), "`sh` failed: no");
        let err = run(&mut Command::new("/nonexistent/tool"), "pkg", None).unwrap_err();
        assert!(err.to_string().contains("apt-get install pkg"), "{err}");
        // `output` gives a failure back as it is, for the caller to read.
        let out =
            output(Command::new("sh").args(["-c", "cat; echo no >&2; exit 3"]), "dash", Some("in"))
                .unwrap();
        assert_eq!(
            (out.status.code(), &out.stdout[..], &out.stderr[..]),
            (Some(3), &b"in"[..], &b"no\n"[..])
        );
    }
}
