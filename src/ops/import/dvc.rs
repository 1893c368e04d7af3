//! DVC's side of `cairn import dvc`: its outputs in the work tree, and its
//! objects in the DVC cache (`.dvc/cache/files/md5/…`) or on the DVC
//! remote that `.dvc/config` names (a folder, or `s3://`, `gs://`,
//! `azure://` read through cairn's own clients; DVC need not be
//! installed). Every object is checked against its MD5 before use.

use std::io::Read;
use std::path::{Path, PathBuf};

use super::source::{copy_file_verified, copy_verified, Copied, Expect};
use super::{Fetch, Objects};
use crate::error::{Error, Result};
use crate::format::foreign::{object_path, DvcConfig, ForeignError, MAX_DIR_LISTING, MAX_DVC_LOCK};
use crate::format::import_map::Scheme;
use crate::ops::Session;
use crate::remote::ResolvedRemote;
use crate::repo::git::ForeignBlob;

/// The DVC remote objects may come from.
enum Remote {
    None,
    Folder(PathBuf),
    Cloud(Box<ResolvedRemote>),
    /// A kind of remote cairn cannot read (ssh, hdfs …): its URL.
    Unsupported(String),
}

/// The DVC cache and remote of one repository.
pub struct DvcObjects {
    cache: PathBuf,
    remote: Remote,
}

fn foreign(path: &Path, e: ForeignError) -> Error {
    Error::Foreign {
        path: path.display().to_string(),
        tool: "DVC",
        source: e,
    }
}

impl DvcObjects {
    /// Read `.dvc/config` (then `config.local`) of the repository.
    pub fn open(s: &Session) -> Result<DvcObjects> {
        let root = s.workspace().root();
        let dvc_dir = root.join(".dvc");
        let mut config = DvcConfig::default();
        for name in ["config", "config.local"] {
            let path = dvc_dir.join(name);
            match std::fs::read(&path) {
                Ok(b) => config.merge(&b).map_err(|e| foreign(&path, e))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::io("read", &path, e)),
            }
        }
        let remote = match config.url(None) {
            None => Remote::None,
            Some(url) => match url.split_once("://") {
                None => Remote::Folder(dvc_dir.join(url)),
                Some(("file", rest)) => Remote::Folder(PathBuf::from(rest)),
                Some((scheme @ ("s3" | "gs" | "azure"), rest)) => {
                    let scheme = if scheme == "azure" { "az" } else { scheme };
                    let url = format!("{scheme}://{rest}");
                    Remote::Cloud(Box::new(s.remote(Some(&url))?))
                }
                Some(_) => Remote::Unsupported(url.to_string()),
            },
        };
        Ok(DvcObjects {
            cache: dvc_dir.join("cache"),
            remote,
        })
    }
}

impl Objects for DvcObjects {
    /// The `.dir` listing with MD5 `md5`, verified, read into memory
    /// through a temporary file in `scratch`.
    fn listing(&self, md5: &str, scratch: &Path) -> Result<std::result::Result<Vec<u8>, Fetch>> {
        let want = Expect {
            scheme: Scheme::Md5,
            hex: md5.to_string(),
            size: None,
        };
        let tmp = scratch.join(format!("{md5}.dir"));
        match self.fetch(&want, true, &tmp)? {
            Fetch::Got(_) => {}
            miss => return Ok(Err(miss)),
        }
        let len = std::fs::metadata(&tmp)
            .map_err(|e| Error::io("stat", &tmp, e))?
            .len();
        if len > MAX_DIR_LISTING as u64 {
            let _ = std::fs::remove_file(&tmp);
            return Err(foreign(
                &tmp,
                ForeignError::TooLarge {
                    limit: MAX_DIR_LISTING,
                },
            ));
        }
        let bytes = std::fs::read(&tmp).map_err(|e| Error::io("read", &tmp, e));
        let _ = std::fs::remove_file(&tmp);
        Ok(Ok(bytes?))
    }

    fn fetch(&self, want: &Expect, dir: bool, dest: &Path) -> Result<Fetch> {
        let rel = object_path(&want.hex, dir);
        let mut corrupt = false;
        match copy_file_verified(&self.cache.join(&rel), dest, want)? {
            Copied::Verified => return Ok(Fetch::Got("DVC cache")),
            Copied::Mismatch => corrupt = true,
            Copied::Absent => {}
        }
        let got = match &self.remote {
            Remote::None => Copied::Absent,
            Remote::Folder(dir) => copy_file_verified(&dir.join(&rel), dest, want)?,
            Remote::Cloud(remote) => copy_verified(dest, want, &mut |w| {
                Ok(crate::remote::foreign_store::download(remote, &rel, w)?.is_some())
            })?,
            Remote::Unsupported(url) => {
                return Ok(if corrupt {
                    Fetch::Corrupt
                } else {
                    Fetch::Unreachable(url.clone())
                })
            }
        };
        Ok(match got {
            Copied::Verified => Fetch::Got("DVC remote"),
            Copied::Mismatch => Fetch::Corrupt,
            Copied::Absent if corrupt => Fetch::Corrupt,
            Copied::Absent => Fetch::Missing,
        })
    }
}

/// The `.dvc` files and `dvc.lock` files of the work tree, as blobs (the
/// same shape history gives), sorted by path. `.git`, `.dvc` and `.cairn`
/// are not entered.
pub fn work_tree_files(root: &Path) -> Result<Vec<ForeignBlob>> {
    let mut out = Vec::new();
    let walk = walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            !(e.file_type().is_dir()
                && e.depth() > 0
                && matches!(e.file_name().to_str(), Some(".git" | ".dvc" | ".cairn")))
        });
    for entry in walk {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(root).to_path_buf();
            Error::io("walk", &path, e.into())
        })?;
        let name = entry.file_name().to_string_lossy();
        if !entry.file_type().is_file()
            || !(name.ends_with(".dvc") && name.len() > 4 || name == "dvc.lock")
        {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        let Some(rel) = rel.to_str() else { continue };
        // A data file may be named `*.dvc`: read no more than a DVC file
        // can be, and let the parser refuse it.
        let mut bytes = Vec::new();
        std::fs::File::open(entry.path())
            .and_then(|f| f.take(MAX_DVC_LOCK as u64 + 1).read_to_end(&mut bytes))
            .map_err(|e| Error::io("read", entry.path(), e))?;
        out.push(ForeignBlob {
            path: rel.to_string(),
            bytes,
            executable: false,
        });
    }
    Ok(out)
}
