//! The config layers a remote can be named in, read in precedence order:
//! the user file, the committed `.cairn/config.toml`, the uncommitted
//! `config.local.toml`, and, standing in for the committed file when an old
//! commit's config names no remote, the same file on the tip of the default
//! branch (FORMAT.md §8.1).
//!
//! The history is asked through [`CommittedConfig`], which the caller
//! answers (from git, in `ops::Session`): this layer never opens a
//! repository itself.

use std::path::Path;

use crate::error::{Error, Result};
use crate::repo::config::user_config_path;

/// The config layer a remote's URL came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layer {
    /// The user's `$XDG_CONFIG_HOME/cairn/config.toml`.
    User,
    /// The work tree's committed `.cairn/config.toml`.
    Committed,
    /// The uncommitted `.cairn/config.local.toml`.
    Local,
    /// `.cairn/config.toml` as committed on the tip of the default branch.
    DefaultBranch,
    /// A URL given on the command line (`-r URL`).
    CommandLine,
}

impl Layer {
    /// A short name for listings and JSON.
    pub fn name(self) -> &'static str {
        match self {
            Layer::User => "user",
            Layer::Committed => "committed",
            Layer::Local => "local",
            Layer::DefaultBranch => "default-branch",
            Layer::CommandLine => "command-line",
        }
    }
}

/// One layer's `[remote]` table.
#[derive(Debug, Clone)]
pub struct LayerTable {
    pub layer: Layer,
    /// The file (or `BRANCH:.cairn/config.toml`) it was read from.
    pub origin: String,
    pub table: toml::Table,
    /// The names in the file's order.
    pub order: Vec<String>,
}

/// The `[remote]` tables of the user, committed and local config files,
/// lowest precedence first.
pub fn work_tree_layers(cairn_dir: &Path) -> Result<Vec<LayerTable>> {
    let layers = [
        (Layer::User, user_config_path()),
        (Layer::Committed, Some(cairn_dir.join("config.toml"))),
        (Layer::Local, Some(cairn_dir.join("config.local.toml"))),
    ];
    let mut out = Vec::new();
    for (layer, p) in layers {
        let Some(p) = p else { continue };
        if let Some((t, order)) = read_table(&p)? {
            if let Some(toml::Value::Table(r)) = t.get("remote") {
                out.push(LayerTable {
                    layer,
                    origin: p.display().to_string(),
                    table: r.clone(),
                    order,
                });
            }
        }
    }
    Ok(out)
}

/// What the repository's history says about the committed config, asked
/// only when a remote cannot be resolved from the work tree alone. The
/// caller answers from git; this layer never opens a repository itself.
pub trait CommittedConfig {
    /// `.cairn/config.toml` as `HEAD` commits it (`Some(None)`: HEAD has
    /// no such file; `None`: there is no history to ask).
    fn at_head(&self) -> Option<Option<Vec<u8>>>;
    /// The default branch's name and its `.cairn/config.toml`, if both exist.
    fn at_default_branch(&self) -> Result<Option<(String, Vec<u8>)>>;
}

/// No history: a repository git cannot open, or a caller outside one.
pub struct NoHistory;

impl CommittedConfig for NoHistory {
    fn at_head(&self) -> Option<Option<Vec<u8>>> {
        None
    }
    fn at_default_branch(&self) -> Result<Option<(String, Vec<u8>)>> {
        Ok(None)
    }
}

/// The `[remote]` table of `.cairn/config.toml` on the tip of the default
/// branch, if there is one.
pub fn default_branch_layer(history: &dyn CommittedConfig) -> Result<Option<LayerTable>> {
    let Some((branch, bytes)) = history.at_default_branch()? else {
        return Ok(None);
    };
    let origin = format!("{branch}:.cairn/config.toml");
    let text = String::from_utf8_lossy(&bytes);
    let Some((t, order)) = parse_table(&text, Path::new(&origin))? else {
        return Ok(None);
    };
    Ok(match t.get("remote") {
        Some(toml::Value::Table(r)) => Some(LayerTable {
            layer: Layer::DefaultBranch,
            origin: branch,
            table: r.clone(),
            order,
        }),
        _ => None,
    })
}

/// Whether the work tree's `.cairn/config.toml` is the one `HEAD` commits
/// (unedited), so that it speaks for a commit rather than for the user.
pub(super) fn committed_as_at_head(cairn_dir: &Path, history: &dyn CommittedConfig) -> bool {
    let on_disk = std::fs::read(cairn_dir.join("config.toml")).ok();
    history.at_head() == Some(on_disk)
}

/// A config file's table and the order of its `[remote.*]` names (a
/// `toml::Table` is sorted; listings keep the file's order).
pub(super) fn read_table(path: &Path) -> Result<Option<(toml::Table, Vec<String>)>> {
    match std::fs::read_to_string(path) {
        Ok(t) => parse_table(&t, path),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read config", path, e)),
    }
}

fn parse_table(text: &str, path: &Path) -> Result<Option<(toml::Table, Vec<String>)>> {
    let table: toml::Table = toml::from_str(text).map_err(|e| Error::Config {
        path: path.to_path_buf(),
        source: Box::new(e),
    })?;
    let order = text
        .parse::<toml_edit::DocumentMut>()
        .ok()
        .and_then(|d| {
            d.get("remote")
                .and_then(|r| r.as_table_like())
                .map(|t| t.iter().map(|(k, _)| k.to_string()).collect())
        })
        .unwrap_or_default();
    Ok(Some((table, order)))
}
