//! The files of another data tool in a revision's tree: DVC's `.dvc`
//! files and `dvc.lock`, and blobs small enough to be Git LFS pointers.
//!
//! `cairn import` reads them for every revision it imports, and a checkout
//! of a revision made before the migration reads them to find that
//! revision's data through the import map. Like every history read here,
//! this only reads git objects. A blob is read whole only when its header
//! says it is small enough to be an LFS pointer, so a tree full of large
//! blobs costs one header lookup each.

use gix::bstr::BStr;
use gix::objs::tree::EntryKind;
use gix::objs::{Kind, TreeRefIter};

use super::{GitRepo, Result, CAIRN_DIR};
use crate::format::foreign::{looks_like_lfs_pointer, MAX_LFS_POINTER};

/// One file of another tool, as committed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForeignBlob {
    /// Repository-relative, `/`-separated.
    pub path: String,
    pub bytes: Vec<u8>,
    /// Committed with the executable bit.
    pub executable: bool,
}

/// Which tool's files to look for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Want {
    pub dvc: bool,
    pub lfs: bool,
}

fn is_dvc_name(name: &BStr) -> bool {
    (name.len() > 4 && name.ends_with(b".dvc")) || name == "dvc.lock"
}

impl GitRepo {
    /// The `.dvc` files and `dvc.lock` files (with `want.dvc`) and the
    /// blobs that start like Git LFS pointers (with `want.lfs`) in the tree
    /// of `rev`, sorted by path. `.git`, `.dvc` and `.cairn` directories
    /// are not entered, nor are submodules.
    pub fn foreign_at(&self, rev: &str, want: Want) -> Result<Vec<ForeignBlob>> {
        let commit = self.resolve_id(rev)?;
        let mut buf = Vec::new();
        let root = self.commit_tree(commit, rev, &mut buf)?;
        let mut out = Vec::new();
        let mut stack = vec![(root, String::new())];
        while let Some((tree, prefix)) = stack.pop() {
            let data = self.find(tree, Kind::Tree, rev, &mut buf)?.to_vec();
            for entry in TreeRefIter::from_bytes(&data, self.repo.object_hash()) {
                let entry = entry?;
                let name = entry.filename;
                let path = format!("{prefix}{name}");
                let kind = entry.mode.kind();
                match kind {
                    EntryKind::Tree => {
                        if name != CAIRN_DIR && name != ".dvc" && name != ".git" {
                            stack.push((entry.oid.to_owned(), format!("{path}/")));
                        }
                        continue;
                    }
                    EntryKind::Blob | EntryKind::BlobExecutable => {}
                    _ => continue,
                }
                let id = entry.oid.to_owned();
                let dvc = want.dvc && is_dvc_name(name);
                if !dvc {
                    if !want.lfs {
                        continue;
                    }
                    let header = self
                        .repo
                        .find_header(id)
                        .map_err(|e| super::GitError::Gix(Box::new(e)))?;
                    if header.size() > MAX_LFS_POINTER as u64 {
                        continue;
                    }
                }
                let bytes = self.blob(id, rev)?;
                if dvc || looks_like_lfs_pointer(&bytes) {
                    out.push(ForeignBlob {
                        path,
                        bytes,
                        executable: kind == EntryKind::BlobExecutable,
                    });
                }
            }
        }
        out.sort_by(|a, b| a.path.cmp(&b.path));
        Ok(out)
    }

    /// Where git keeps what all work trees share (`.git` of the main work
    /// tree); Git LFS keeps its objects below it, in `lfs/objects`.
    pub fn common_dir(&self) -> &std::path::Path {
        self.repo.common_dir()
    }
}
