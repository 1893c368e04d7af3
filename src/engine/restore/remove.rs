//! Removing a tracked path's data from the work tree (`checkout` of a
//! revision that drops it, `rm --delete-data`), after the caller's guard
//! has found it holds nothing cairn has not recorded.
//!
//! Files `.cairnignore` excludes are not data, so they are left where they
//! are, with the directories that hold them (git does the same with
//! ignored files when a checkout drops a directory).

use std::fs;

use crate::error::{Error, Result};
use crate::repo::cairnignore::walk_dir;
use crate::repo::workspace::Workspace;

/// Remove the data of tracked path `rel`; whether anything was there.
pub fn remove_data(ws: &Workspace, rel: &str) -> Result<bool> {
    let data = ws.safe_abs(rel)?;
    let meta = match fs::symlink_metadata(&data) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io("stat", &data, e)),
    };
    if !meta.is_dir() {
        fs::remove_file(&data).map_err(|e| Error::io("remove", &data, e))?;
        return Ok(true);
    }
    for entry in walk_dir(ws.root(), rel, &data)?.0 {
        fs::remove_file(entry.path()).map_err(|e| Error::io("remove", entry.path(), e))?;
    }
    // Deepest first; a directory that still holds ignored files stays.
    for entry in walkdir::WalkDir::new(&data).contents_first(true) {
        let Ok(entry) = entry else { continue };
        if entry.file_type().is_dir() {
            let _ = fs::remove_dir(entry.path());
        }
    }
    Ok(true)
}
