//! Opening the repository a command works on: the one place in the CLI
//! that does, so every verb gets the same session and the same warnings.
//!
//! The library reports committed settings it ignored and unknown keys (in
//! [`crate::repo::config::Config`]) instead of printing them; they are said
//! here, once per command, as the repository is opened. Commands that do
//! not open the repository (`init`, `get`, `completions`, `man`) never say
//! them.

use std::path::Path;

use super::ui::Ui;
use crate::ops::Session;

/// The session on the repository that contains `cwd`, after warning about
/// the committed settings it ignores.
pub(crate) fn open_session(ui: &Ui, cwd: &Path) -> crate::Result<Session> {
    let session = Session::open(cwd)?;
    let config = session.workspace().config();
    if let Some(ignored) = &config.ignored_cache_dir {
        ui.warn(ignored);
    }
    for unknown in &config.unknown_keys {
        ui.warn(unknown);
    }
    Ok(session)
}

/// For a command that works without a repository (`install-hooks
/// --global`): the same warning when it is run inside one.
pub(crate) fn warn_if_in_repository(ui: &Ui, cwd: &Path) {
    let _ = open_session(ui, cwd);
}
