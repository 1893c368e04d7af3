//! `cairn ls [REV] [PATH…]`: tracked data at a revision, or in the work tree.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::ui::Ui;
use crate::format::pointer::Pointer;
use crate::ops::select::Selection;
use crate::ops::Session;
use crate::repo::history::{filter, pointers_at, pointers_in_work_tree};

#[derive(Debug, Args)]
pub struct LsArgs {
    /// A git revision (commit, tag, branch, HEAD~2, main@{1}) and/or paths to
    /// limit the listing; without a revision, the work tree's pointers.
    #[arg(value_name = "REV|PATH")]
    pub args: Vec<String>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(_ui: &Ui, cwd: &Path, args: LsArgs) -> anyhow::Result<ExitCode> {
    let session = Session::open(cwd)?;
    let ws = session.workspace();
    let git = session.require_git()?;
    let Selection { rev, paths } = Selection::parse(&session, cwd, &args.args)?;
    let (commit, tracked) = match &rev {
        Some(r) => (
            Some(git.resolve(r).map_err(crate::Error::from)?),
            pointers_at(git, r)?,
        ),
        None => (None, pointers_in_work_tree(ws, &_ui.progress())?),
    };
    let tracked = filter(tracked, &paths);
    if args.json {
        let rows: Vec<_> = tracked
            .iter()
            .map(|(rel, p)| {
                let (kind, files) = match p {
                    Pointer::File { .. } => ("file", 1),
                    Pointer::Dir { files, .. } => ("dir", *files),
                };
                json!({"path": rel, "kind": kind, "size": p.size(), "files": files, "id": p.id().to_hex()})
            })
            .collect();
        let out = json!({
            "rev": rev,
            "commit": commit.as_ref().map(|c| c.id.clone()),
            "paths": rows,
        });
        println!("{out}");
        return Ok(ExitCode::SUCCESS);
    }
    for (rel, p) in &tracked {
        let (kind, files) = match p {
            Pointer::File { .. } => ("file", 1),
            Pointer::Dir { files, .. } => ("dir", *files),
        };
        println!("{kind:<4} {:>14} {files:>8} {} {rel}", p.size(), p.id());
    }
    Ok(ExitCode::SUCCESS)
}
