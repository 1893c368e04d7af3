//! `config`: read and change one configuration key, or list the effective
//! configuration and where each value comes from.
//!
//! A key is looked up in the one table of known keys
//! (`repo::config_keys`), and a new value is parsed to the key's type and
//! checked as a reader would check it, before any file is touched: a typo'd
//! key or a bad value changes nothing. Edits go to one file (the committed
//! `.cairn/config.toml` unless told otherwise) and keep its comments and
//! layout.
//!
//! Remotes stay `cairn remote`'s to create and remove: `config` may set
//! or unset the connection settings of a remote some file already defines
//! (`remote.NAME.endpoint`, `.region`, `.allow_http`, `.skip_signature`,
//! `.connect_timeout`, `.request_timeout`, `.retries`) and `remote.default`
//! (to a defined remote), but not `remote.NAME.url`. A `cache.dir` is
//! refused in the committed file, where readers ignore it.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use cairn::ops::{config, Session};
//! use cairn::repo::config_edit::Scope;
//!
//! let s = Session::open(Path::new("."))?;
//! let files = config::files(Some(&s));
//! config::set(Some(&s), &files, "gc.grace", "2d", Scope::Local)?;
//! for e in config::list(&files, None)?.entries {
//!     println!("{}\t{}={}", e.origin, e.key, e.text());
//! }
//! # Ok::<(), cairn::Error>(())
//! ```

use serde::Serialize;

use super::Session;
use crate::error::{Error, Result};
use crate::repo::config_edit::{self, Entry, Files, Origin, Scope};
use crate::repo::config_keys::{lookup, parse_value, KeyRef};

/// The config files of `session`'s repository, or the user file alone.
pub fn files(session: Option<&Session>) -> Files {
    Files {
        cairn_dir: session.map(|s| s.workspace().cairn_dir()),
        root: session.map(|s| s.workspace().root().to_path_buf()),
    }
}

/// The config files of the repository at `root`, for a caller that cannot
/// open a session on it (its config does not load).
pub fn files_at(root: &std::path::Path) -> Files {
    Files {
        cairn_dir: Some(root.join(crate::repo::workspace::CAIRN_DIR)),
        root: Some(root.to_path_buf()),
    }
}

/// One key's value (what `config KEY --json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct GetReport {
    pub key: String,
    /// `None` when no file (of the scope asked) sets it.
    pub value: Option<toml::Value>,
    pub origin: Option<Origin>,
}

/// The effective value of `key` (or its value in one scope's file).
pub fn get(files: &Files, key: &str, scope: Option<Scope>) -> Result<GetReport> {
    let key = lookup(key)?.path().join(".");
    let found = files.entries(scope)?.into_iter().find(|e| e.key == key);
    Ok(GetReport {
        key,
        value: found.as_ref().map(|e| e.value.clone()),
        origin: found.map(|e| e.origin),
    })
}

/// The keys set (what `config --list --json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct ListReport {
    pub entries: Vec<Entry>,
}

/// Every effective key (or every key one scope's file sets), sorted.
pub fn list(files: &Files, scope: Option<Scope>) -> Result<ListReport> {
    Ok(ListReport {
        entries: files.entries(scope)?,
    })
}

/// What `config KEY VALUE` or `config --unset KEY` changed.
#[derive(Debug, Clone, Serialize)]
pub struct EditReport {
    pub key: String,
    /// The new value; `None` after an unset.
    pub value: Option<toml::Value>,
    /// The value the file had before.
    pub previous: Option<toml::Value>,
    pub scope: Scope,
    /// The file written.
    pub file: String,
}

fn refuse(key: &KeyRef, action: &'static str, reason: &'static str, hint: &'static str) -> Error {
    Error::ConfigKeyRefused {
        key: key.path().join("."),
        action,
        reason,
        hint,
    }
}

/// Check that `cairn config` may change `key` in `scope`.
fn check_editable(files: &Files, key: &KeyRef, scope: Scope, action: &'static str) -> Result<()> {
    match key {
        KeyRef::Remote { field: "url", .. } => Err(refuse(
            key,
            action,
            "remotes are created and removed by `cairn remote`",
            "`cairn remote add NAME URL` or `cairn remote remove NAME`",
        )),
        KeyRef::Remote { name, .. } if action == "set" && !files.has_remote(name)? => {
            Err(Error::UnknownRemote { name: name.clone() })
        }
        KeyRef::Plain("cache.dir") if scope == Scope::Committed && action == "set" => Err(refuse(
            key,
            action,
            "readers ignore it in the committed file, which would otherwise choose where every teammate's cairn writes",
            "use `cairn config --local cache.dir DIR` (this clone) or `--user` (every repository)",
        )),
        _ => Ok(()),
    }
}

fn target(files: &Files, scope: Scope) -> Result<std::path::PathBuf> {
    files.path(scope).ok_or(Error::ConfigKeyRefused {
        key: "the user config file".into(),
        action: "write",
        reason: "neither XDG_CONFIG_HOME nor HOME is set",
        hint: "set HOME or XDG_CONFIG_HOME",
    })
}

/// Set `key` to `value` in the file of `scope`, after checking both. A
/// session, when given, is locked for the edit of a repository file.
pub fn set(
    session: Option<&Session>,
    files: &Files,
    key: &str,
    value: &str,
    scope: Scope,
) -> Result<EditReport> {
    let k = lookup(key)?;
    let v = parse_value(&k, value)?;
    check_editable(files, &k, scope, "set")?;
    if k == KeyRef::Plain("remote.default") && !files.has_remote(value)? {
        return Err(Error::UnknownRemote {
            name: value.to_string(),
        });
    }
    let path = target(files, scope)?;
    if let (Some(s), true) = (session, scope != Scope::User) {
        s.lock()?;
    }
    let previous = get(files, key, Some(scope))?.value;
    config_edit::set(&path, &k, &v)?;
    Ok(EditReport {
        key: k.path().join("."),
        value: Some(v),
        previous,
        scope,
        file: files.shown(&path),
    })
}

/// Remove `key` from the file of `scope`; an error when it is not there.
pub fn unset(
    session: Option<&Session>,
    files: &Files,
    key: &str,
    scope: Scope,
) -> Result<EditReport> {
    let k = lookup(key)?;
    check_editable(files, &k, scope, "unset")?;
    let path = target(files, scope)?;
    if let (Some(s), true) = (session, scope != Scope::User) {
        s.lock()?;
    }
    let previous = get(files, key, Some(scope))?.value;
    if !config_edit::unset(&path, &k)? {
        return Err(Error::ConfigNotSet {
            key: k.path().join("."),
            file: files.shown(&path),
        });
    }
    Ok(EditReport {
        key: k.path().join("."),
        value: None,
        previous,
        scope,
        file: files.shown(&path),
    })
}
