//! The config files as `cairn config` and `cairn doctor` see them: every
//! known key's effective value with the file (or environment variable) it
//! came from, and single-key edits that keep the rest of a file (comments,
//! order, unknown keys) exactly as it was.
//!
//! The precedence is [`super::config::Config::load`]'s (FORMAT.md §8.1):
//! user file, committed file, local file, environment, later winning key by
//! key; a `cache.dir` in the committed file is never effective. Edits are
//! written atomically, so a failed write leaves the old file whole.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use toml_edit::{DocumentMut, Item, Table};

use super::config::user_config_path;
use super::config_keys::{unknown_in, KeyRef, UnknownKey, KEYS, REMOTE_FIELDS};
use crate::error::{Error, Result};

/// A config file cairn reads, or the environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// `$XDG_CONFIG_HOME/cairn/config.toml`.
    User,
    /// `.cairn/config.toml`, committed.
    Committed,
    /// `.cairn/config.local.toml`, this clone only.
    Local,
    /// An environment variable.
    Env,
}

/// Where an effective value came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Origin {
    pub scope: Scope,
    /// The file, or the variable's name for [`Scope::Env`].
    pub source: String,
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.scope {
            Scope::Env => write!(f, "env:{}", self.source),
            _ => write!(f, "file:{}", self.source),
        }
    }
}

/// One key's value and where it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry {
    pub key: String,
    pub value: toml::Value,
    pub origin: Origin,
}

impl Entry {
    /// The value as `config` prints it: strings bare, the rest as TOML.
    pub fn text(&self) -> String {
        match &self.value {
            toml::Value::String(s) => s.clone(),
            v => v.to_string(),
        }
    }
}

/// The config files of a repository (or of none: the user file alone).
#[derive(Debug, Clone)]
pub struct Files {
    /// `.cairn/` of the repository, if there is one.
    pub cairn_dir: Option<PathBuf>,
    /// The work tree root, which repository files are shown relative to.
    pub root: Option<PathBuf>,
}

/// A file's unknown keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileUnknown {
    pub file: PathBuf,
    pub unknown: UnknownKey,
}

impl std::fmt::Display for FileUnknown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "unknown config key `{}` in {}",
            self.unknown.key,
            self.file.display()
        )?;
        match &self.unknown.suggestion {
            Some(s) => write!(f, " (did you mean `{s}`?)"),
            None => f.write_str(" (ignored; docs/FORMAT.md §8.1 lists the keys)"),
        }
    }
}

impl Files {
    /// The file of a scope (`None` for the environment, or a repository
    /// file outside a repository, or a user file with no home).
    pub fn path(&self, scope: Scope) -> Option<PathBuf> {
        match scope {
            Scope::User => user_config_path(),
            Scope::Committed => self.cairn_dir.as_ref().map(|d| d.join("config.toml")),
            Scope::Local => self.cairn_dir.as_ref().map(|d| d.join("config.local.toml")),
            Scope::Env => None,
        }
    }

    /// A file's name as listings show it: relative to the work tree for
    /// repository files, absolute for the user file.
    pub fn shown(&self, path: &Path) -> String {
        self.root
            .as_ref()
            .and_then(|r| path.strip_prefix(r).ok())
            .unwrap_or(path)
            .display()
            .to_string()
    }

    fn tables(&self) -> Result<Vec<(Scope, PathBuf, toml::Table)>> {
        let mut out = Vec::new();
        for scope in [Scope::User, Scope::Committed, Scope::Local] {
            let Some(path) = self.path(scope) else {
                continue;
            };
            if let Some(t) = read(&path)? {
                out.push((scope, path, t));
            }
        }
        Ok(out)
    }

    /// Every known key set in one scope (all of them for `None`: the
    /// effective values, environment included), sorted by key.
    pub fn entries(&self, only: Option<Scope>) -> Result<Vec<Entry>> {
        let mut found: BTreeMap<String, Entry> = BTreeMap::new();
        for (scope, path, table) in self.tables()? {
            if only.is_some_and(|o| o != scope) {
                continue;
            }
            let origin = Origin {
                scope,
                source: self.shown(&path),
            };
            for (key, value) in known_leaves(&table) {
                // Never effective (Config::load ignores it and says so).
                if key == "cache.dir" && scope == Scope::Committed && only.is_none() {
                    continue;
                }
                let origin = origin.clone();
                found.insert(key.clone(), Entry { key, value, origin });
            }
        }
        if only.is_none() || only == Some(Scope::Env) {
            for (var, key) in [
                ("CAIRN_CACHE_DIR", "cache.dir"),
                ("CAIRN_REMOTE", "remote.default"),
            ] {
                if let Some(v) = std::env::var_os(var).filter(|v| !v.is_empty()) {
                    let origin = Origin {
                        scope: Scope::Env,
                        source: var.to_string(),
                    };
                    let value = toml::Value::String(v.to_string_lossy().into_owned());
                    let key = key.to_string();
                    found.insert(key.clone(), Entry { key, value, origin });
                }
            }
        }
        Ok(found.into_values().collect())
    }

    /// The unknown keys of every file, in precedence order.
    pub fn unknown_keys(&self) -> Result<Vec<FileUnknown>> {
        Ok(self
            .tables()?
            .into_iter()
            .flat_map(|(_, file, t)| {
                unknown_in(&t).into_iter().map(move |unknown| FileUnknown {
                    file: file.clone(),
                    unknown,
                })
            })
            .collect())
    }

    /// Whether some file defines remote `name` (with a URL).
    pub fn has_remote(&self, name: &str) -> Result<bool> {
        Ok(self.tables()?.iter().any(|(_, _, t)| {
            t.get("remote")
                .and_then(|r| r.get(name))
                .and_then(|r| r.get("url"))
                .is_some()
        }))
    }
}

/// Read one file as a table; `None` when it does not exist.
pub fn read(path: &Path) -> Result<Option<toml::Table>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("read config", path, e)),
    };
    toml::from_str(&text).map(Some).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

/// The known keys of a table with their values.
fn known_leaves(t: &toml::Table) -> Vec<(String, toml::Value)> {
    let mut out = Vec::new();
    for k in KEYS {
        let mut cur: Option<&toml::Value> = None;
        for (i, part) in k.name.split('.').enumerate() {
            cur = if i == 0 {
                t.get(part)
            } else {
                cur.and_then(|c| c.get(part))
            };
        }
        if let Some(v) = cur.filter(|v| !v.is_table()) {
            out.push((k.name.to_string(), v.clone()));
        }
    }
    if let Some(toml::Value::Table(remotes)) = t.get("remote") {
        for (name, sub) in remotes {
            let toml::Value::Table(sub) = sub else {
                continue;
            };
            for f in REMOTE_FIELDS {
                if let Some(v) = sub.get(f.name) {
                    out.push((format!("remote.{name}.{}", f.name), v.clone()));
                }
            }
        }
    }
    out
}

fn parse_doc(path: &Path) -> Result<DocumentMut> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::io("read config", path, e)),
    };
    text.parse::<DocumentMut>().map_err(|e| Error::ConfigEdit {
        path: path.to_path_buf(),
        source: Box::new(e),
    })
}

fn to_edit(v: &toml::Value) -> toml_edit::Value {
    match v {
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Integer(n) => (*n).into(),
        toml::Value::String(s) => s.as_str().into(),
        other => other.to_string().as_str().into(),
    }
}

/// Set `key` to `value` in the file at `path` (created if missing), leaving
/// everything else in it as it was.
pub fn set(path: &Path, key: &KeyRef, value: &toml::Value) -> Result<()> {
    let mut doc = parse_doc(path)?;
    let parts = key.path();
    let Some((leaf, tables)) = parts.split_last() else {
        return Ok(());
    };
    let mut cur: &mut Table = doc.as_table_mut();
    for (depth, name) in tables.iter().enumerate() {
        let item = cur.entry(name).or_insert_with(|| {
            let mut t = Table::new();
            // `[remote.origin]` needs no `[remote]` header of its own.
            t.set_implicit(depth == 0 && tables.len() > 1);
            Item::Table(t)
        });
        cur = item.as_table_mut().ok_or_else(|| Error::BadConfigValue {
            key: parts[..=depth].join("."),
            value: String::new(),
            reason: format!("is not a table in {}", path.display()),
        })?;
    }
    match cur.get_mut(leaf).and_then(Item::as_value_mut) {
        // Keep the comment and spacing around the old value.
        Some(old) => {
            let decor = old.decor().clone();
            *old = to_edit(value);
            *old.decor_mut() = decor;
        }
        None => {
            cur.insert(leaf, Item::Value(to_edit(value)));
        }
    }
    crate::durable::write_atomic(path, doc.to_string().as_bytes())
}

/// Remove `key` from the file at `path`, and the tables it leaves empty;
/// whether it was there.
pub fn unset(path: &Path, key: &KeyRef) -> Result<bool> {
    if !path.exists() {
        return Ok(false);
    }
    let mut doc = parse_doc(path)?;
    let parts = key.path();
    if !remove(doc.as_table_mut(), &parts) {
        return Ok(false);
    }
    crate::durable::write_atomic(path, doc.to_string().as_bytes())?;
    Ok(true)
}

fn remove(t: &mut Table, parts: &[String]) -> bool {
    match parts {
        [] => false,
        [leaf] => t.remove(leaf).is_some(),
        [first, rest @ ..] => {
            let Some(sub) = t.get_mut(first).and_then(Item::as_table_mut) else {
                return false;
            };
            let removed = remove(sub, rest);
            if removed && sub.is_empty() {
                t.remove(first);
            }
            removed
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::repo::config_keys::lookup;

    #[test]
    fn set_and_unset_keep_comments_and_other_keys() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        let before = "# top comment\n[core]\nformat = 1 # the format\n\n[remote.o]\nurl = \"x\"\n";
        std::fs::write(&p, before).unwrap();
        let grace = lookup("gc.grace").unwrap();
        set(&p, &grace, &toml::Value::String("2d".into())).unwrap();
        let endpoint = lookup("remote.o.endpoint").unwrap();
        set(&p, &endpoint, &toml::Value::String("http://h:1".into())).unwrap();
        let text = std::fs::read_to_string(&p).unwrap();
        assert!(text.starts_with(before.trim_end()), "{text}");
        assert!(text.contains("[gc]\ngrace = \"2d\"\n"), "{text}");
        assert!(text.contains("endpoint = \"http://h:1\""), "{text}");
        assert!(unset(&p, &grace).unwrap());
        assert!(!unset(&p, &grace).unwrap());
        assert!(unset(&p, &endpoint).unwrap());
        assert_eq!(std::fs::read_to_string(&p).unwrap(), before);
        set(
            &p,
            &lookup("core.format").unwrap(),
            &toml::Value::Integer(1),
        )
        .unwrap();
        assert!(std::fs::read_to_string(&p)
            .unwrap()
            .contains("format = 1 # the format"));
    }
}
