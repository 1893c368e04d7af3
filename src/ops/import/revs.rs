//! The older revisions `cairn import --all-tags` / `--rev` imports: their
//! outputs, read from git objects, are laid out in a scratch directory,
//! verified, stored in the cairn cache and recorded in the import map. The
//! work tree is never touched, and an output the map already names is not
//! read again, so a re-run costs one tree walk per revision.

use std::path::Path;

use super::select::Selector;
use super::{place, ImportOptions, ImportReport, ImportedRev, Objects, Problem, Tool};
use crate::engine::ingest::Ingest;
use crate::error::Result;
use crate::format::import_map::{ImportMap, Mapped, Target};
use crate::format::pointer::Pointer;
use crate::repo::foreign::outs_of;
use crate::repo::git::{GitRepo, Want};

/// The revisions to import besides the work tree: `--rev`, every tag with
/// `--all-tags`, and then HEAD's commit (the last one before the import).
pub(super) fn revisions(git: &GitRepo, opts: &ImportOptions) -> Result<Vec<(String, String)>> {
    let mut names: Vec<String> = opts.revs.clone();
    if opts.all_tags {
        for t in git.refs_under("refs/tags/")? {
            names.push(t.trim_start_matches("refs/tags/").to_string());
        }
    }
    if names.is_empty() {
        return Ok(Vec::new());
    }
    if git.resolve("HEAD").is_ok() {
        names.push("HEAD".into());
    }
    let mut out: Vec<(String, String)> = Vec::new();
    for n in names {
        let commit = git.resolve(&n)?.id;
        if !out.iter().any(|(_, c)| *c == commit) {
            out.push((n, commit));
        }
    }
    Ok(out)
}

#[allow(clippy::too_many_arguments)]
pub(super) fn import_rev(
    git: &GitRepo,
    rev: &str,
    commit: &str,
    objects: &dyn Objects,
    ingest: &Ingest,
    select: &Selector,
    map: &mut ImportMap,
    report: &mut ImportReport,
    scratch: &Path,
) -> Result<ImportedRev> {
    let want = Want {
        dvc: select.tool == Tool::Dvc,
        lfs: select.tool == Tool::Lfs,
    };
    let blobs = git.foreign_at(commit, want)?;
    let (outs, bad) = outs_of(&blobs);
    report.unreadable(select, bad, rev);
    let mut row = ImportedRev {
        rev: rev.to_string(),
        commit: commit.to_string(),
        outputs: 0,
        imported: 0,
        already_imported: 0,
    };
    let root = ingest.ws.root().to_path_buf();
    for out in outs.iter().filter(|o| select.out(o)) {
        row.outputs += 1;
        if map.get(out.scheme(), &out.key(), out.size()).is_some() {
            row.already_imported += 1;
            continue;
        }
        let dest = ingest.ws.safe_abs(&out.path)?;
        let placed = place::place(objects, out, &dest, false, scratch)?;
        let result = match placed {
            Ok(_) => ingest.add_path(&out.path).map(Some),
            Err((problem, detail)) => {
                report.problems.push(Problem {
                    path: out.path.clone(),
                    rev: rev.to_string(),
                    problem,
                    detail,
                });
                Ok(None)
            }
        };
        // The scratch copy is not needed once stored.
        let top = out.path.split('/').next().unwrap_or(&out.path);
        let _ = std::fs::remove_dir_all(root.join(top))
            .or_else(|_| std::fs::remove_file(root.join(top)));
        let Some(ptr) = result? else { continue };
        let (size, target) = match ptr {
            Pointer::File { id, size, .. } => (size, Target::File(id)),
            Pointer::Dir {
                id, size, files, ..
            } => (size, Target::Dir { id, files }),
        };
        map.insert(out.scheme(), out.key(), Mapped { size, target });
        row.imported += 1;
    }
    Ok(row)
}
