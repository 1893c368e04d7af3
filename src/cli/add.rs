//! `cairn add PATH…`: store data and write its pointer files.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;

use anyhow::Context;
use clap::Args;
use serde_json::json;

use super::ui::{human, Ui};
use crate::ingest::Ingest;
use crate::pointer::{Pointer, SUFFIX};
use crate::stat_index::StatIndex;
use crate::store::Store;
use crate::workspace::{write_atomic, Workspace};

#[derive(Debug, Args)]
pub struct AddArgs {
    /// Files or directories to track.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
    /// If git already tracks the data, take it out of git's index
    /// (`git rm --cached`; the files stay) instead of refusing.
    #[arg(long)]
    pub untrack_git: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: AddArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let _lock = ws.lock()?;
    let bar = ui.progress();
    let store = Store::open(&ws.cache_dir(), &bar)?;
    let cache_lock = store.lock()?;
    store.clean_tmp(&cache_lock)?;
    crate::workspace::sweep_tmp(&ws.cairn_dir())?;
    let mut index = StatIndex::load(&ws.stat_index_path())?;

    let mut rels: Vec<String> = Vec::new();
    for p in &args.paths {
        let rel = ws.rel_path(cwd, p)?;
        // `cairn add data.cairn` means the data beside it.
        let rel = match rel.strip_suffix(SUFFIX) {
            Some(stem) if ws.root().join(stem).exists() => stem.to_string(),
            _ => rel,
        };
        if !rels.contains(&rel) {
            rels.push(rel);
        }
    }

    // Data git already tracks would be tracked twice: git's copy would stay
    // in every commit however the .gitignore hides it.
    let git = crate::git::GitRepo::open(ws.root()).ok();
    let in_git = match git.as_ref().map(|g| g.indexed(&rels)) {
        Some(Ok(paths)) => paths,
        Some(Err(crate::git::GitError::Io(e))) if e.kind() == std::io::ErrorKind::NotFound => {
            ui.warn("the git program was not found: not checking whether git already tracks these paths");
            Vec::new()
        }
        Some(Err(e)) => return Err(crate::Error::from(e).into()),
        None => Vec::new(),
    };
    if let (Some(first), false) = (in_git.first(), args.untrack_git) {
        let path = rels
            .iter()
            .find(|r| *first == **r || first.starts_with(&format!("{r}/")))
            .unwrap_or(first)
            .clone();
        return Err(crate::Error::TrackedByGit {
            path,
            count: in_git.len(),
        }
        .into());
    }

    let ingest = Ingest::new(&ws, &store, &mut index, &bar);
    let mut added: Vec<(String, Pointer)> = Vec::new();
    for rel in &rels {
        let ptr = ingest
            .add_path(rel)
            .with_context(|| format!("could not add {rel}"))?;
        added.push((rel.clone(), ptr));
    }
    // Durability first: nothing may point at data that is not on disk.
    store
        .flush()
        .context("could not make the stored data durable")?;
    crate::failpoint::hit("add.packs_durable");
    let c = &ingest.counters;
    let (read, cached) = (
        c.files_read.load(Ordering::Relaxed),
        c.files_cached.load(Ordering::Relaxed),
    );
    let (bytes_read, stored) = (
        c.bytes_read.load(Ordering::Relaxed),
        c.bytes_stored.load(Ordering::Relaxed),
    );
    let blobs = c.blobs_stored.load(Ordering::Relaxed);

    for (rel, ptr) in &added {
        let path = ws.safe_abs(&format!("{rel}{SUFFIX}"))?;
        let text = ptr.encode();
        if std::fs::read(&path).ok().as_deref() != Some(text.as_bytes()) {
            write_atomic(&path, text.as_bytes())?;
            crate::failpoint::hit("add.pointer_written");
        }
        ws.ensure_ignored(rel)?;
        crate::failpoint::hit("add.gitignore_written");
    }
    index.save()?;
    crate::failpoint::hit("add.stat_index_saved");
    if let (Some(g), false) = (&git, in_git.is_empty()) {
        // Only now that the pointers exist: git's copy is the only other
        // record of the data until then.
        let paths: Vec<String> = rels
            .iter()
            .filter(|r| {
                in_git
                    .iter()
                    .any(|i| i == *r || i.starts_with(&format!("{r}/")))
            })
            .cloned()
            .collect();
        g.untrack(&paths).map_err(crate::Error::from)?;
        ui.info(format!(
            "removed {} path(s) from git's index (the files stay); commit to record it",
            in_git.len()
        ));
    }

    if args.json {
        let paths: Vec<_> = added
            .iter()
            .map(|(rel, p)| match p {
                Pointer::File { id, size, .. } => json!({"path": rel, "kind": "file", "id": id.to_hex(), "size": size, "files": 1}),
                Pointer::Dir { id, size, files } => json!({"path": rel, "kind": "dir", "id": id.to_hex(), "size": size, "files": files}),
            })
            .collect();
        let out = json!({
            "paths": paths,
            "files_read": read,
            "files_unchanged": cached,
            "bytes_read": bytes_read,
            "blobs_stored": blobs,
            "bytes_stored": stored,
        });
        println!("{out}");
    }
    for (rel, p) in &added {
        let what = match p {
            Pointer::File { size, .. } => human(*size),
            Pointer::Dir { size, files, .. } => {
                format!(
                    "{files} file{}, {}",
                    if *files == 1 { "" } else { "s" },
                    human(*size)
                )
            }
        };
        ui.info(format!("added {rel} ({what}) -> {rel}{SUFFIX}"));
    }
    ui.info(format!(
        "{} new in the cache ({blobs} objects); {read} files read, {cached} unchanged",
        human(stored)
    ));
    // The pointers and the .gitignore files that now hide the data.
    let mut to_commit: Vec<String> = Vec::new();
    for (r, _) in &added {
        to_commit.push(format!("{r}{SUFFIX}"));
        let ignore = match r.rsplit_once('/') {
            Some((parent, _)) => format!("{parent}/.gitignore"),
            None => ".gitignore".to_string(),
        };
        if !to_commit.contains(&ignore) {
            to_commit.push(ignore);
        }
    }
    ui.info(format!(
        "next: git add {} && git commit",
        to_commit.join(" ")
    ));
    Ok(ExitCode::SUCCESS)
}
