//! Foreign pointers: the `.dvc` files, `dvc.lock` outputs and Git LFS
//! pointers of a revision made before `cairn import`, read as ordinary
//! cairn pointers through the committed import map (FORMAT.md §16).
//!
//! This is the one place where revisions of another tool become
//! `(path, Pointer)` pairs, so `checkout`, `pull`, `push`, `verify` and
//! `gc` restore, send and keep the data of such a revision exactly as they
//! do for a cairn pointer. An output whose old hash the map does not name
//! was never imported and yields nothing here (`cairn import` reported
//! it). When no map exists (every repository that never imported) nothing
//! is read beyond one file lookup.

use std::path::Path;

use crate::error::Result;
use crate::format::foreign::{
    parse_dvc_file, parse_dvc_lock, parse_lfs_pointer, DvcOut, ForeignError, LfsPointer,
};
use crate::format::import_map::{ImportMap, Scheme, PATH as MAP_PATH};
use crate::format::object::{check_rel_path, Mode};
use crate::format::pointer::Pointer;
use crate::repo::git::{ForeignBlob, GitRepo, Want};
use crate::repo::history::Tracked;

/// What the old tool recorded for one output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Old {
    Dvc(DvcOut),
    Lfs(LfsPointer),
}

/// One output of another tool at some revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignOut {
    /// The data's repository-relative path.
    pub path: String,
    /// The file that recorded it (`x.dvc`, `dvc.lock`, or the LFS pointer,
    /// which sits at the data's own path).
    pub from: String,
    pub old: Old,
    pub executable: bool,
}

impl ForeignOut {
    pub fn scheme(&self) -> Scheme {
        match self.old {
            Old::Dvc(_) => Scheme::Md5,
            Old::Lfs(_) => Scheme::Sha256,
        }
    }

    /// The old hash as the map keys it.
    pub fn key(&self) -> String {
        match &self.old {
            Old::Dvc(o) => o.key(),
            Old::Lfs(p) => p.oid.clone(),
        }
    }

    /// The size the old tool recorded, when it did.
    pub fn size(&self) -> Option<u64> {
        match &self.old {
            Old::Dvc(o) => o.size,
            Old::Lfs(p) => Some(p.size),
        }
    }

    /// The cairn pointer for this output, if the map names its data.
    pub fn mapped(&self, map: &ImportMap) -> Option<Pointer> {
        let mode = if self.executable {
            Mode::Executable
        } else {
            Mode::Regular
        };
        map.get(self.scheme(), &self.key(), self.size())
            .map(|m| m.pointer(mode))
    }
}

/// A foreign file that could not be read: its path and why.
pub type Unreadable = (String, ForeignError);

fn join(dir: &str, rel: &str) -> std::result::Result<String, ForeignError> {
    let path = if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    };
    check_rel_path(&path).map_err(|r| ForeignError::Field {
        what: "path",
        reason: format!("{path:?}: {r}"),
    })?;
    Ok(path)
}

/// The outputs recorded in `blobs`, sorted by data path, and the files
/// that could not be read.
pub fn outs_of(blobs: &[ForeignBlob]) -> (Vec<ForeignOut>, Vec<Unreadable>) {
    let mut outs = Vec::new();
    let mut bad = Vec::new();
    for b in blobs {
        let dir = b.path.rsplit_once('/').map(|(d, _)| d).unwrap_or("");
        let name = b.path.rsplit('/').next().unwrap_or(&b.path);
        let dvc: std::result::Result<Vec<DvcOut>, ForeignError> = if name == "dvc.lock" {
            parse_dvc_lock(&b.bytes).map(|v| v.into_iter().map(|(_, o)| o).collect())
        } else if name.ends_with(".dvc") {
            parse_dvc_file(&b.bytes)
        } else {
            match parse_lfs_pointer(&b.bytes) {
                Ok(p) => outs.push(ForeignOut {
                    path: b.path.clone(),
                    from: b.path.clone(),
                    old: Old::Lfs(p),
                    executable: b.executable,
                }),
                Err(e) => bad.push((b.path.clone(), e)),
            }
            continue;
        };
        let res = dvc.and_then(|list| {
            list.into_iter()
                .map(|o| {
                    Ok(ForeignOut {
                        path: join(dir, &o.path)?,
                        from: b.path.clone(),
                        old: Old::Dvc(o),
                        executable: false,
                    })
                })
                .collect::<std::result::Result<Vec<_>, ForeignError>>()
        });
        match res {
            Ok(v) => outs.extend(v),
            Err(e) => bad.push((b.path.clone(), e)),
        }
    }
    outs.sort_by(|a, b| a.path.cmp(&b.path));
    outs.dedup_by(|a, b| a.path == b.path);
    (outs, bad)
}

/// The import map: the work tree's copy, else the default branch's (a
/// checkout of a revision from before the import has none on disk).
pub fn load_map(root: &Path, git: Option<&GitRepo>) -> Result<Option<ImportMap>> {
    let path = root.join(MAP_PATH);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            match git
                .map(|g| g.file_at_default_branch(MAP_PATH))
                .transpose()?
            {
                Some(Some((_, b))) => b,
                _ => return Ok(None),
            }
        }
        Err(e) => return Err(crate::Error::io("read", &path, e)),
    };
    let map = ImportMap::decode(&bytes).map_err(|e| crate::Error::ImportMapSyntax {
        path: path.clone(),
        line: e.line,
        reason: e.reason,
    })?;
    Ok(Some(map))
}

/// Which foreign files a map can resolve at all.
fn want(map: &ImportMap) -> Want {
    let mut w = Want {
        dvc: false,
        lfs: false,
    };
    for (scheme, _, _) in map.iter() {
        match scheme {
            Scheme::Md5 => w.dvc = true,
            Scheme::Sha256 => w.lfs = true,
        }
    }
    w
}

/// The foreign pointers of `rev` that `map` resolves, leaving out the
/// paths `have` already tracks.
fn mapped_at(git: &GitRepo, rev: &str, map: &ImportMap, have: &[Tracked]) -> Result<Vec<Tracked>> {
    let blobs = git.foreign_at(rev, want(map))?;
    let (outs, _) = outs_of(&blobs);
    Ok(outs
        .into_iter()
        .filter(|o| !have.iter().any(|(p, _)| *p == o.path))
        .filter_map(|o| o.mapped(map).map(|p| (o.path, p)))
        .collect())
}

/// Add the foreign pointers of `rev` to `out` (sorted again), when the
/// repository has an import map.
pub fn extend_at(git: &GitRepo, rev: &str, out: &mut Vec<Tracked>) -> Result<()> {
    let root = git.work_dir().map(Path::to_path_buf);
    let map = match root {
        Some(r) => load_map(&r, Some(git))?,
        None => None,
    };
    let Some(map) = map.filter(|m| !m.is_empty()) else {
        return Ok(());
    };
    let found = mapped_at(git, rev, &map, out)?;
    out.extend(found);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(())
}

/// The work tree's foreign pointers, leaving out the paths in `have`:
/// those of `HEAD`'s commit, for a work tree checked out at a revision
/// from before the import (a `.dvc` file deleted from the work tree no
/// longer counts). Sorted by path.
pub fn in_work_tree(root: &Path, have: &[String]) -> Result<Vec<Tracked>> {
    let Ok(git) = GitRepo::open(root) else {
        return Ok(Vec::new());
    };
    in_git_work_tree(root, Some(&git), have)
}

/// [`in_work_tree`] with git already open (`None`: git cannot open the
/// work tree, so there are none).
pub fn in_git_work_tree(
    root: &Path,
    git: Option<&GitRepo>,
    have: &[String],
) -> Result<Vec<Tracked>> {
    let Some(git) = git else {
        return Ok(Vec::new());
    };
    let Some(map) = load_map(root, Some(git))?.filter(|m| !m.is_empty()) else {
        return Ok(Vec::new());
    };
    let blobs = match git.foreign_at("HEAD", want(&map)) {
        Ok(b) => b,
        Err(crate::repo::git::GitError::NoCommits) => return Ok(Vec::new()),
        Err(e) => return Err(e.into()),
    };
    let (outs, _) = outs_of(&blobs);
    let mut out = Vec::new();
    for o in outs {
        if have.contains(&o.path) {
            continue;
        }
        if matches!(o.old, Old::Dvc(_)) && !root.join(&o.from).is_file() {
            continue;
        }
        if let Some(p) = o.mapped(&map) {
            out.push((o.path, p));
        }
    }
    Ok(out)
}

/// Add the work tree's foreign pointers ([`in_work_tree`]) to `out`.
pub fn extend_work_tree(root: &Path, out: &mut Vec<Tracked>) -> Result<()> {
    let have: Vec<String> = out.iter().map(|(p, _)| p.clone()).collect();
    out.extend(in_work_tree(root, &have)?);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(())
}

/// Every cairn object the map names, as pointers: roots of gc, so imported
/// history stays collectable by no one while the map records it.
pub fn map_roots(root: &Path, git: Option<&GitRepo>) -> Result<Vec<Tracked>> {
    let Some(map) = load_map(root, git)? else {
        return Ok(Vec::new());
    };
    Ok(map
        .iter()
        .map(|(_, _, m)| ("<import map>".to_string(), m.pointer(Mode::Regular)))
        .collect())
}
