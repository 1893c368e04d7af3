//! `cairn diff [A] [B]`: data that changed between two revisions (default:
//! HEAD and the work tree's pointers), with sizes and the bytes that are
//! really new, i.e. in chunks that A does not have.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde_json::{json, Value};

use super::ui::{human, Ui};
use crate::engine::reach::Reach;
use crate::engine::status::{diff_trees, Change};
use crate::format::kind::ObjectKind;
use crate::format::object::{self, TreeEntry};
use crate::format::pointer::Pointer;
use crate::repo::git::GitRepo;
use crate::repo::history::{pointers_at, pointers_in_work_tree, Tracked};
use crate::repo::workspace::Workspace;
use crate::store::Store;

#[derive(Debug, Args)]
pub struct DiffArgs {
    /// The old revision (default: HEAD).
    #[arg(value_name = "A")]
    pub from: Option<String>,
    /// The new revision (default: the work tree's pointers).
    #[arg(value_name = "B")]
    pub to: Option<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

fn listing(store: &Store, ptr: &Pointer) -> crate::Result<Option<Vec<TreeEntry>>> {
    let Pointer::Dir { id, .. } = ptr else {
        return Ok(None);
    };
    match store.read(ObjectKind::Tree, id)? {
        Some(raw) => Ok(object::decode_tree(&raw).ok()),
        None => Ok(None),
    }
}

fn kind(p: &Pointer) -> &'static str {
    match p {
        Pointer::File { .. } => "file",
        Pointer::Dir { .. } => "dir",
    }
}

pub fn run(ui: &Ui, cwd: &Path, args: DiffArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let git = GitRepo::open(ws.root()).map_err(crate::Error::from)?;
    let store = Store::open(&ws.cache_dir(), &ui.progress())?;
    let from = args.from.clone().unwrap_or_else(|| "HEAD".to_string());
    let a: Vec<Tracked> = pointers_at(&git, &from)?;
    let b: Vec<Tracked> = match &args.to {
        Some(r) => pointers_at(&git, r)?,
        None => pointers_in_work_tree(&ws, &ui.progress())?,
    };
    // Chunks A has, to tell which of B's bytes are new.
    let mut reach_a = Reach::default();
    for (rel, p) in &a {
        reach_a.add_pointer(&store, rel, p)?;
    }
    let before: BTreeMap<&str, &Pointer> = a.iter().map(|(r, p)| (r.as_str(), p)).collect();
    let after: BTreeMap<&str, &Pointer> = b.iter().map(|(r, p)| (r.as_str(), p)).collect();
    let mut paths: Vec<&str> = before.keys().chain(after.keys()).copied().collect();
    paths.sort_unstable();
    paths.dedup();

    let mut rows: Vec<Value> = Vec::new();
    let mut total_new = 0u64;
    let mut incomplete = false;
    for rel in paths {
        let (old, new) = (before.get(rel).copied(), after.get(rel).copied());
        let change = match (old, new) {
            (Some(o), Some(n)) if o == n => continue,
            (Some(_), Some(_)) => "modified",
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (None, None) => continue,
        };
        let new_bytes = match new {
            Some(n) => {
                let mut r = Reach::default();
                r.add_pointer(&store, rel, n)?;
                incomplete |= !r.missing.is_empty();
                r.chunk_len
                    .iter()
                    .filter(|(id, _)| !reach_a.chunk_len.contains_key(*id))
                    .map(|(_, len)| len)
                    .sum::<u64>()
            }
            None => 0,
        };
        total_new += new_bytes;
        let files: Vec<Value> = match (
            old.map(|o| listing(&store, o)),
            new.map(|n| listing(&store, n)),
        ) {
            (Some(Ok(Some(o))), Some(Ok(Some(n)))) => {
                let sizes_o: BTreeMap<&str, u64> =
                    o.iter().map(|e| (e.path.as_str(), e.size)).collect();
                let sizes_n: BTreeMap<&str, u64> =
                    n.iter().map(|e| (e.path.as_str(), e.size)).collect();
                diff_trees(rel, &o, &n)
                    .into_iter()
                    .map(|c| {
                        let sub = &c.path[rel.len() + 1..];
                        json!({
                            "path": c.path,
                            "change": match c.change { Change::Added => "added", Change::Modified => "modified", Change::Deleted => "removed" },
                            "old_size": sizes_o.get(sub),
                            "new_size": sizes_n.get(sub),
                        })
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        rows.push(json!({
            "path": rel,
            "change": change,
            "kind": new.or(old).map(kind),
            "old_size": old.map(Pointer::size),
            "new_size": new.map(Pointer::size),
            "new_bytes": new_bytes,
            "files": files,
        }));
    }

    if args.json {
        let out = json!({
            "from": from,
            "to": args.to,
            "paths": rows,
            "new_bytes": total_new,
            "complete": !incomplete,
        });
        println!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    let size = |v: &Value| v.as_u64().map(human).unwrap_or_else(|| "-".into());
    for r in &rows {
        println!(
            "{:<8} {}  {} -> {}  ({} new)",
            r["change"].as_str().unwrap_or_default(),
            r["path"].as_str().unwrap_or_default(),
            size(&r["old_size"]),
            size(&r["new_size"]),
            human(r["new_bytes"].as_u64().unwrap_or(0))
        );
        for f in r["files"].as_array().into_iter().flatten() {
            println!(
                "    {:<8} {}  {} -> {}",
                f["change"].as_str().unwrap_or_default(),
                f["path"].as_str().unwrap_or_default(),
                size(&f["old_size"]),
                size(&f["new_size"])
            );
        }
    }
    if rows.is_empty() {
        println!("no tracked data differs");
    } else {
        println!("{} new in total", human(total_new));
    }
    if incomplete {
        ui.warn("some objects are not in the cache; new-byte counts may be low (fetch them, or add the data)");
    }
    Ok(ExitCode::SUCCESS)
}
