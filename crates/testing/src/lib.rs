//! What the tests share: a policy's text checked into its model (then
//! `rampart_lower::compile(&firewall(text))` compiles it), and a temporary
//! directory that goes when the test ends. A dev-dependency only, built on
//! `model`: `model`'s own tests do not use it, so no crate's tests depend
//! on the crate itself.

use std::ffi::OsStr;
use std::fs::Permissions;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use rampart_diag::Sources;
use rampart_model::{Firewall, Model};

/// The model of the policy `text`, which must check without errors: they
/// are the panic's message, rendered as `check` prints them.
#[must_use]
pub fn model(text: &str) -> Model {
    let mut sources = Sources::new();
    let loaded = rampart_model::load_str("policy.rp", text, &mut sources);
    assert!(!loaded.has_errors(), "{}", rampart_diag::render(&loaded.diagnostics, &sources, false));
    loaded.model.expect("a policy without errors has a model")
}

/// The first firewall of the policy `text`, ready for
/// `rampart_lower::compile`.
#[must_use]
pub fn firewall(text: &str) -> Firewall {
    model(text).firewalls.swap_remove(0)
}

/// A fresh, empty directory, removed with all it holds when dropped. It
/// reads as a `Path`. Others may read it (mode 755): tests run tools as
/// other users on what they write there.
pub struct TempDir(tempfile::TempDir);

impl std::ops::Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        self.0.path()
    }
}

impl AsRef<OsStr> for TempDir {
    fn as_ref(&self) -> &OsStr {
        self.0.path().as_os_str()
    }
}

/// A fresh directory whose name starts with `rampart-NAME-`.
#[must_use]
pub fn tempdir(name: &str) -> TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("rampart-{name}-"))
        .permissions(Permissions::from_mode(0o755))
        .tempdir()
        .expect("create a temporary directory");
    TempDir(dir)
}
