//! `init`: set up `.cairn/` in a git work tree.
//!
//! Initialising writes the committed `config.toml` (which marks the work
//! tree as a cairn repository) and a `.gitignore` that keeps cairn's local
//! state (cache, stat index, lock, local config) out of git, and makes
//! git merge `.gitignore` files by union (`repo::gitattributes`), so two
//! branches that each track a new path merge without a conflict. It is safe
//! to run again: an existing config is never replaced, only a missing
//! `.gitignore` is written, and the merge rule is added only where the
//! root `.gitattributes` does not already set one for `.gitignore`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::Result;
use crate::repo::gitattributes;
use crate::repo::workspace::Workspace;

/// What `init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The root of the git work tree.
    pub root: PathBuf,
    /// Its `.cairn` directory.
    pub cairn_dir: PathBuf,
    /// Whether this run set cairn up (false: it already was, and its
    /// config was left as it is).
    pub created: bool,
    /// Whether this run added `.gitignore merge=union` to the root
    /// `.gitattributes` (false: it already said how `.gitignore` files
    /// merge).
    pub gitattributes_written: bool,
}

/// Set up cairn in the git work tree that contains `dir`.
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::{init, Session};
///
/// let r = init::init(Path::new("."))?;
/// if r.created {
///     println!("commit {}/config.toml", r.cairn_dir.display());
/// }
/// // The repository now opens.
/// let _s = Session::open(&r.root)?;
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn init(dir: &Path) -> Result<InitReport> {
    let (ws, created) = Workspace::init(dir)?;
    let gitattributes_written = gitattributes::ensure_union_merge(ws.root())?;
    Ok(InitReport {
        root: ws.root().to_path_buf(),
        cairn_dir: ws.cairn_dir(),
        created,
        gitattributes_written,
    })
}
