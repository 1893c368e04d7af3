//! `cairn import dvc [PATH…]` and `cairn import lfs [PATTERN…]`: move data
//! from DVC or Git LFS to cairn (`ops::import`), and say what to commit and
//! what could not be imported.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::args::Format;
use super::session::open_session;
use super::ui::{human, Ui};
use crate::ops::import::{import, ImportOptions, Tool};

#[derive(Debug, Args)]
pub struct ImportArgs {
    #[command(subcommand)]
    pub from: From,
}

#[derive(Debug, Subcommand)]
pub enum From {
    /// Import the outputs of `.dvc` files and `dvc.lock` (data from the work
    /// tree, the DVC cache or the DVC remote; DVC need not be installed).
    Dvc {
        /// Outputs or `.dvc` files to import (default: all).
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
        #[command(flatten)]
        common: Common,
    },
    /// Import the Git LFS files of HEAD (data from the work tree,
    /// `.git/lfs/objects`, or `git lfs fetch`).
    Lfs {
        /// Which LFS files (gitignore patterns, relative to the repository
        /// root; default: all).
        #[arg(value_name = "PATTERN")]
        patterns: Vec<String>,
        #[command(flatten)]
        common: Common,
    },
}

#[derive(Debug, Args)]
pub struct Common {
    /// Also import the data of every tag, so each stays restorable once the
    /// old store is gone.
    #[arg(long)]
    pub all_tags: bool,
    /// Also import the data of this revision (repeatable).
    #[arg(long = "rev", value_name = "REV")]
    pub revs: Vec<String>,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: ImportArgs) -> anyhow::Result<ExitCode> {
    let session = open_session(ui, cwd)?;
    let ws = session.workspace();
    let (tool, paths, common) = match args.from {
        From::Dvc { paths, common } => (Tool::Dvc, ws.rel_paths(cwd, &paths)?, common),
        From::Lfs { patterns, common } => (Tool::Lfs, patterns, common),
    };
    let opts = ImportOptions {
        tool,
        paths,
        all_tags: common.all_tags,
        revs: common.revs,
    };
    let report = import(&session, opts, &ui.progress())?;
    if common.format.json {
        super::ui::print_json(&report)?;
    } else {
        for p in &report.paths {
            let what = if p.kind == "dir" {
                format!("{} files, {}", p.files, human(p.size))
            } else {
                human(p.size)
            };
            ui.info(format!(
                "imported {} ({what}, from {}) -> {}.cairn",
                p.path, p.source, p.path
            ));
        }
        for r in &report.revs {
            ui.info(format!(
                "{}: {} output(s), {} imported, {} already imported",
                r.rev, r.outputs, r.imported, r.already_imported
            ));
        }
        for p in &report.problems {
            ui.warn(format!(
                "not imported: {} at {} ({}): {}",
                p.path, p.rev, p.problem, p.detail
            ));
        }
        for n in &report.notes {
            ui.info(format!("note: {n}"));
        }
        ui.info(format!(
            "{} new in the cache; import map: {} entries ({} new)",
            human(report.bytes_stored),
            report.map_entries,
            report.map_entries_added
        ));
        let changed =
            !report.paths.is_empty() || !report.removed.is_empty() || report.map_entries_added > 0;
        if changed {
            ui.info(format!("staged: {}", report.to_commit.join(" ")));
            ui.info("next: git commit -m 'Move data to cairn' && cairn push");
        } else if report.problems.is_empty() {
            ui.info("nothing left to import");
        }
    }
    if !report.problems.is_empty() {
        return Err(crate::Error::ImportIncomplete {
            count: report.problems.len(),
        }
        .into());
    }
    Ok(ExitCode::SUCCESS)
}
