//! The last steps of an import, once the data is stored and the import
//! map names it: the old tool's pointer files go, notes say what is left
//! to do by hand, and the whole change is staged for one commit. They come
//! last so that an interrupted import always leaves the old pointers in
//! place (FORMAT.md §16).

use std::path::Path;

use super::{ImportReport, Tool};
use crate::error::{Error, Result};
use crate::format::import_map::PATH as MAP_PATH;
use crate::format::pointer::SUFFIX;
use crate::repo::foreign::{outs_of, ForeignOut};
use crate::repo::git::{GitRepo, Want};

/// Remove each `.dvc` file all of whose outputs are now in cairn. DVC's
/// `.gitignore` line for an output (`/name`) is exactly the line cairn
/// keeps for it, so it stays, now cairn's.
pub(super) fn remove_dvc_files(
    root: &Path,
    imported: &[&ForeignOut],
    report: &mut ImportReport,
) -> Result<()> {
    let mut files: Vec<&str> = imported
        .iter()
        .filter(|o| o.from.ends_with(".dvc"))
        .map(|o| o.from.as_str())
        .collect();
    files.sort();
    files.dedup();
    for f in files {
        let path = root.join(f);
        let bytes = std::fs::read(&path).map_err(|e| Error::io("read", &path, e))?;
        let blob = crate::repo::git::ForeignBlob {
            path: f.to_string(),
            bytes,
            executable: false,
        };
        let (outs, bad) = outs_of(&[blob]);
        let all_in = bad.is_empty()
            && outs
                .iter()
                .all(|o| imported.iter().any(|i| i.path == o.path));
        if !all_in {
            continue;
        }
        std::fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
        crate::failpoint::hit("import.old_pointer_removed");
        report.removed.push(f.to_string());
        report.to_commit.push(f.to_string());
    }
    Ok(())
}

/// The `.dvc` files of HEAD that an earlier run removed (their outputs
/// have cairn pointers now) but did not get to stage: staged with this
/// run's change.
pub(super) fn removed_earlier(git: &GitRepo, root: &Path, report: &mut ImportReport) -> Result<()> {
    let blobs = match git.foreign_at(
        "HEAD",
        Want {
            dvc: true,
            lfs: false,
        },
    ) {
        Ok(b) => b,
        Err(crate::repo::git::GitError::NoCommits) => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    for o in outs_of(&blobs).0 {
        if o.from.ends_with(".dvc")
            && !root.join(&o.from).exists()
            && root.join(format!("{}{SUFFIX}", o.path)).is_file()
        {
            report.to_commit.push(o.from.clone());
            report.to_commit.push(format!("{}{SUFFIX}", o.path));
            report
                .to_commit
                .push(crate::repo::workspace::Workspace::gitignore_of(&o.path));
        }
    }
    Ok(())
}

/// What the user should know or do next, after the data moved.
pub(super) fn notes(root: &Path, tool: Tool, report: &mut ImportReport) {
    if tool == Tool::Dvc {
        if root.join("dvc.yaml").is_file()
            || report.paths.iter().any(|p| p.from.ends_with("dvc.lock"))
        {
            report.notes.push(
                "dvc.yaml and dvc.lock are left alone: cairn versions only the data; the outputs they list are now cairn pointers".into(),
            );
        }
        if root.join(".dvc").is_dir() {
            report.notes.push(
                "once every clone has moved, `git rm -r .dvc .dvcignore` removes DVC's own setup"
                    .into(),
            );
        }
    }
    if tool == Tool::Lfs && !report.paths.is_empty() {
        report.notes.push(
            "once nothing uses Git LFS any more, `git lfs uninstall --local` removes its hooks and filter settings".into(),
        );
    }
    if report.revs.is_empty() && !report.paths.is_empty() {
        report.notes.push(
            "older revisions were not imported: `--all-tags` or `--rev REV` keeps them restorable once the old store is gone".into(),
        );
    }
}

/// Stage the whole change for one commit.
pub(super) fn stage(git: &GitRepo, root: &Path, report: &mut ImportReport) -> Result<()> {
    let mut paths: Vec<String> = report.to_commit.clone();
    for p in [MAP_PATH, ".cairn/config.toml", ".cairn/.gitignore"] {
        if root.join(p).is_file() {
            paths.push(p.to_string());
        }
    }
    // The merge rule `init` wrote to a `.gitattributes` git does not track
    // yet is part of setting cairn up, as the config is.
    let attrs = crate::repo::gitattributes::FILE;
    if !paths.iter().any(|p| p == attrs)
        && crate::repo::gitattributes::has_union_line(root)
        && git.indexed(&[attrs.to_string()])?.is_empty()
    {
        paths.push(attrs.to_string());
    }
    paths.sort();
    paths.dedup();
    // A deleted file is staged as a removal only if git tracks it.
    let gone: Vec<String> = paths
        .iter()
        .filter(|p| !root.join(p).exists())
        .cloned()
        .collect();
    let tracked = if gone.is_empty() {
        Vec::new()
    } else {
        git.indexed(&gone)?
    };
    paths.retain(|p| root.join(p).exists() || tracked.contains(p));
    git.stage(&paths)?;
    report.to_commit = paths;
    Ok(())
}
