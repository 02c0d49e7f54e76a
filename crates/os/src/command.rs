//! Running a tool: text on its stdin, its stdout back, and on failure its
//! own words (stderr, else stdout) in one typed error.

use std::io::Write;
use std::process::{Command, Stdio};

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
    let out = child.wait_with_output().map_err(spawn)?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if out.status.success() {
        return Ok(stdout);
    }
    let mut stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
    if stderr.is_empty() {
        stderr = stdout.trim().to_owned();
    }
    Err(ToolError::Failed { tool, stderr })
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
    }
}
