//! `cairn remote list`: every remote of every config layer, with the layer
//! it comes from.
//!
//! Unlike [`super::settings::resolve`], which stops at the first problem, a
//! listing is what a user reads to find the problem: a broken entry (a URL
//! that is not a string or does not parse, a table that is not one) or an
//! unreadable file becomes one flagged row, and every other remote is still
//! listed.

use std::path::Path;

use super::layers::{default_branch_layer, read_table, CommittedConfig, LayerTable};
use super::parse_url;
use super::settings::{apply, Layer, Settings};
use crate::error::Error;
use crate::repo::config::user_config_path;

/// One row of `cairn remote list`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub name: String,
    /// `None` when the entry has no usable URL (see `problem`).
    pub url: Option<String>,
    pub layer: Layer,
    /// The file (or branch) it was read from.
    pub origin: String,
    /// Whether this is the remote commands use by default.
    pub default: bool,
    /// Why the entry (or the whole file) cannot be used, if it cannot.
    pub problem: Option<String>,
}

/// Every remote of every layer (user, committed, local, then the default
/// branch's committed file where it differs from the work tree's), in that
/// order. A broken file or entry becomes one flagged row; the rest are
/// still listed.
pub fn list_all(cairn_dir: &Path, base: &Path, history: &dyn CommittedConfig) -> Vec<Listed> {
    let mut rows = Vec::new();
    let mut tables = Vec::new();
    let files = [
        (Layer::User, user_config_path()),
        (Layer::Committed, Some(cairn_dir.join("config.toml"))),
        (Layer::Local, Some(cairn_dir.join("config.local.toml"))),
    ];
    for (layer, path) in files {
        let Some(path) = path else { continue };
        let origin = path.display().to_string();
        match read_table(&path) {
            Ok(Some((t, order))) => match t.get("remote") {
                Some(toml::Value::Table(r)) => tables.push(LayerTable {
                    layer,
                    origin,
                    table: r.clone(),
                    order,
                }),
                Some(_) => rows.push(flagged(layer, origin, "[remote] is not a table")),
                None => {}
            },
            Ok(None) => {}
            Err(e) => rows.push(flagged(layer, origin, &error_text(&e))),
        }
    }
    match default_branch_layer(history) {
        Ok(Some(t)) => tables.push(t),
        Ok(None) => {}
        Err(e) => rows.push(flagged(
            Layer::DefaultBranch,
            "default branch".into(),
            &error_text(&e),
        )),
    }
    let default = tables
        .iter()
        .rev()
        .filter(|t| t.layer != Layer::DefaultBranch)
        .chain(tables.iter().filter(|t| t.layer == Layer::DefaultBranch))
        .find_map(|t| t.table.get("default").and_then(|v| v.as_str()))
        .map(str::to_string);
    let committed: Vec<(String, Option<toml::Value>)> = tables
        .iter()
        .filter(|t| t.layer == Layer::Committed)
        .flat_map(|t| t.table.iter().map(|(k, v)| (k.clone(), Some(v.clone()))))
        .collect();
    for t in &tables {
        let mut entries: Vec<(&String, &toml::Value)> = t.table.iter().collect();
        entries.sort_by_key(|(k, _)| t.order.iter().position(|o| o == *k));
        for (name, v) in entries {
            if name == "default" {
                continue;
            }
            if t.layer == Layer::DefaultBranch
                && committed.contains(&(name.clone(), Some(v.clone())))
            {
                continue; // the same as the work tree's: not worth a second row
            }
            let mut row = Listed {
                name: name.clone(),
                url: None,
                layer: t.layer,
                origin: t.origin.clone(),
                default: default.as_deref() == Some(name.as_str()),
                problem: None,
            };
            let Some(sub) = v.as_table() else {
                row.problem = Some("not a table".into());
                rows.push(row);
                continue;
            };
            let mut url = None;
            match apply(&mut Settings::default(), &mut url, sub) {
                Err(e) => row.problem = Some(error_text(&e)),
                Ok(()) => match &url {
                    // A table without a URL may only override settings of a
                    // remote defined in another layer.
                    None if tables.iter().any(|o| {
                        o.table
                            .get(name)
                            .and_then(|x| x.get("url"))
                            .is_some_and(|u| u.is_str())
                    }) => {}
                    None => row.problem = Some("no url".into()),
                    Some(u) => {
                        if let Err(e) = parse_url(u, base) {
                            row.problem = Some(error_text(&e));
                        }
                    }
                },
            }
            row.url = url;
            rows.push(row);
        }
    }
    rows
}

fn flagged(layer: Layer, origin: String, problem: &str) -> Listed {
    Listed {
        name: String::new(),
        url: None,
        layer,
        origin,
        default: false,
        problem: Some(problem.to_string()),
    }
}

/// An error and its causes on one line.
fn error_text(e: &Error) -> String {
    let mut text = e.to_string();
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string().replace('\n', " "));
        source = s.source();
    }
    text
}
