//! Decoders of the pointer formats of the tools cairn imports from: DVC 3
//! (`.dvc` files, `.dir` listings, `dvc.lock`, `.dvc/config`) and Git LFS
//! (pointer files, `.gitattributes` lines).
//!
//! `cairn import` reads these from the work tree and from every imported
//! revision of git history, and a checkout of a revision made before the
//! migration reads them again; all of it is untrusted input. So every
//! decoder here is total (any bytes give a value or a [`ForeignError`],
//! fuzzed in fuzz/), refuses input over a fixed size before parsing it
//! (YAML and JSON parsers allocate in proportion to their input), checks
//! every hash's text form, and holds every path it returns to
//! [`check_rel_path`], so nothing read from another tool's files can name a
//! path outside the work tree. Only what cairn uses is decoded; other keys
//! are ignored, as DVC itself ignores keys it does not know.

use serde::Deserialize;

use crate::format::object::check_rel_path;

/// A `.dvc` file is a few lines; this is far more than any real one.
pub const MAX_DVC_FILE: usize = 1 << 20;
/// `dvc.lock` lists every stage of a pipeline.
pub const MAX_DVC_LOCK: usize = 16 << 20;
/// A `.dir` listing: about 80 bytes per file, so a few million files.
pub const MAX_DIR_LISTING: usize = 256 << 20;
/// `.dvc/config` and `.dvc/config.local`.
pub const MAX_DVC_CONFIG: usize = 1 << 20;
/// Git LFS: "Pointer files must be less than 1024 bytes in size."
pub const MAX_LFS_POINTER: usize = 1023;
/// The first line of every Git LFS pointer this decoder accepts.
pub const LFS_VERSION: &str = "version https://git-lfs.github.com/spec/v1";
/// The hash DVC 3 writes (`hash: md5`): plain MD5 of the bytes.
pub const DVC_HASH: &str = "md5";

/// Why another tool's file could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForeignError {
    #[error("larger than {limit} bytes")]
    TooLarge { limit: usize },
    #[error("{0}")]
    Syntax(String),
    #[error("{what} is not valid: {reason}")]
    Field { what: &'static str, reason: String },
    #[error("uses hash `{found}`; cairn imports DVC 3 outputs (`hash: md5`)")]
    UnsupportedHash { found: String },
}

fn field(what: &'static str, reason: impl Into<String>) -> ForeignError {
    ForeignError::Field {
        what,
        reason: reason.into(),
    }
}

fn limit(bytes: &[u8], limit: usize) -> Result<(), ForeignError> {
    if bytes.len() > limit {
        return Err(ForeignError::TooLarge { limit });
    }
    Ok(())
}

/// Whether `s` is `n` lowercase hex digits.
fn is_hex(s: &str, n: usize) -> bool {
    s.len() == n
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn safe_path(what: &'static str, p: &str) -> Result<String, ForeignError> {
    let p = p.strip_prefix("./").unwrap_or(p).trim_end_matches('/');
    check_rel_path(p).map_err(|r| field(what, format!("{p:?}: {r}")))?;
    Ok(p.to_string())
}

/// One output of a `.dvc` file or of a `dvc.lock` stage: data at `path`
/// whose bytes have MD5 `md5` (a directory: the MD5 of its `.dir`
/// listing, and `dir` is set).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DvcOut {
    /// Relative to the directory of the file that names it.
    pub path: String,
    /// 32 lowercase hex digits.
    pub md5: String,
    pub dir: bool,
    pub size: Option<u64>,
    pub nfiles: Option<u64>,
}

impl DvcOut {
    /// The name of this output's object in a DVC cache or remote:
    /// `files/md5/<2 hex>/<30 hex>[.dir]`.
    pub fn object_path(&self) -> String {
        object_path(&self.md5, self.dir)
    }

    /// The old hash as the import map records it (`<md5>` or `<md5>.dir`).
    pub fn key(&self) -> String {
        if self.dir {
            format!("{}.dir", self.md5)
        } else {
            self.md5.clone()
        }
    }
}

/// Where DVC 3 keeps the object with MD5 `md5`, relative to a cache or
/// remote root.
pub fn object_path(md5: &str, dir: bool) -> String {
    let suffix = if dir { ".dir" } else { "" };
    let (head, rest) = md5.split_at(md5.len().min(2));
    format!("files/md5/{head}/{rest}{suffix}")
}

#[derive(Deserialize)]
struct RawOut {
    path: Option<String>,
    md5: Option<String>,
    hash: Option<String>,
    size: Option<u64>,
    nfiles: Option<u64>,
    /// `cache: false`: DVC does not store this output; git versions it.
    cache: Option<bool>,
}

#[derive(Deserialize)]
struct RawDvcFile {
    #[serde(default)]
    outs: Vec<RawOut>,
}

fn out(raw: RawOut) -> Result<DvcOut, ForeignError> {
    let path = safe_path("path", raw.path.as_deref().unwrap_or(""))?;
    match raw.hash.as_deref() {
        Some(DVC_HASH) => {}
        // DVC 2 wrote no `hash:` field: its md5 of text files is taken after
        // turning CRLF into LF, so it cannot be checked against the bytes.
        None => {
            return Err(ForeignError::UnsupportedHash {
                found: "md5-dos2unix (DVC 2)".into(),
            })
        }
        Some(other) => {
            return Err(ForeignError::UnsupportedHash {
                found: other.chars().take(40).collect(),
            })
        }
    }
    let md5 = raw.md5.ok_or_else(|| field("md5", "missing"))?;
    let (md5, dir) = match md5.strip_suffix(".dir") {
        Some(m) => (m.to_string(), true),
        None => (md5, false),
    };
    if !is_hex(&md5, 32) {
        return Err(field("md5", "not 32 lowercase hex digits"));
    }
    Ok(DvcOut {
        path,
        md5,
        dir,
        size: raw.size,
        nfiles: raw.nfiles,
    })
}

/// The outputs of a `.dvc` file. An output with an unsupported hash fails
/// the whole file: a file half imported would be half restorable.
pub fn parse_dvc_file(bytes: &[u8]) -> Result<Vec<DvcOut>, ForeignError> {
    limit(bytes, MAX_DVC_FILE)?;
    let raw: RawDvcFile =
        serde_norway::from_slice(bytes).map_err(|e| ForeignError::Syntax(e.to_string()))?;
    raw.outs
        .into_iter()
        .filter(|o| o.cache != Some(false))
        .map(out)
        .collect()
}

#[derive(Deserialize)]
struct RawStage {
    #[serde(default)]
    outs: Vec<RawOut>,
}

#[derive(Deserialize)]
struct RawLock {
    #[serde(default)]
    stages: std::collections::BTreeMap<String, RawStage>,
}

/// The outputs of every stage of a `dvc.lock` (schema 2.0), as
/// `(stage, output)`, in stage-name order.
pub fn parse_dvc_lock(bytes: &[u8]) -> Result<Vec<(String, DvcOut)>, ForeignError> {
    limit(bytes, MAX_DVC_LOCK)?;
    let raw: RawLock =
        serde_norway::from_slice(bytes).map_err(|e| ForeignError::Syntax(e.to_string()))?;
    let mut outs = Vec::new();
    for (stage, s) in raw.stages {
        for o in s.outs.into_iter().filter(|o| o.cache != Some(false)) {
            outs.push((stage.clone(), out(o)?));
        }
    }
    Ok(outs)
}

/// One file of a DVC directory: its path inside the directory and MD5.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    pub relpath: String,
    pub md5: String,
}

#[derive(Deserialize)]
struct RawDirEntry {
    relpath: String,
    md5: String,
}

/// A DVC `.dir` listing (a JSON array of `{"md5", "relpath"}`), sorted by
/// path; a path given twice is refused.
pub fn parse_dir_listing(bytes: &[u8]) -> Result<Vec<DirEntry>, ForeignError> {
    limit(bytes, MAX_DIR_LISTING)?;
    let raw: Vec<RawDirEntry> =
        serde_json::from_slice(bytes).map_err(|e| ForeignError::Syntax(e.to_string()))?;
    let mut out = Vec::with_capacity(raw.len());
    for e in raw {
        if !is_hex(&e.md5, 32) {
            return Err(field("md5", "not 32 lowercase hex digits"));
        }
        out.push(DirEntry {
            relpath: safe_path("relpath", &e.relpath)?,
            md5: e.md5,
        });
    }
    out.sort_by(|a, b| a.relpath.as_bytes().cmp(b.relpath.as_bytes()));
    if let Some(w) = out.windows(2).find(|w| w[0].relpath == w[1].relpath) {
        return Err(field(
            "relpath",
            format!("{:?} is listed twice", w[0].relpath),
        ));
    }
    Ok(out)
}

/// What cairn needs of `.dvc/config` (and `config.local`, read after it):
/// the default remote and the URL of each remote.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DvcConfig {
    pub default_remote: Option<String>,
    /// `(name, url)`, in file order.
    pub remotes: Vec<(String, String)>,
}

impl DvcConfig {
    /// Fold the file `bytes` into this config; later files win.
    pub fn merge(&mut self, bytes: &[u8]) -> Result<(), ForeignError> {
        limit(bytes, MAX_DVC_CONFIG)?;
        let text = std::str::from_utf8(bytes).map_err(|_| field("config", "not UTF-8"))?;
        let ini = ini::Ini::load_from_str_noescape(text)
            .map_err(|e| ForeignError::Syntax(e.to_string()))?;
        for (section, props) in ini.iter() {
            let Some(section) = section else { continue };
            // configobj writes `['remote "name"']`; `[remote "name"]` too.
            let section = section.trim().trim_matches('\'').trim();
            if section == "core" {
                if let Some(r) = props.get("remote") {
                    self.default_remote = Some(r.trim().to_string());
                }
            } else if let Some(name) = section
                .strip_prefix("remote")
                .map(str::trim)
                .and_then(|n| n.strip_prefix('"'))
                .and_then(|n| n.strip_suffix('"'))
            {
                if let Some(url) = props.get("url") {
                    let url = url.trim().to_string();
                    match self.remotes.iter_mut().find(|(n, _)| n == name) {
                        Some(r) => r.1 = url,
                        None => self.remotes.push((name.to_string(), url)),
                    }
                }
            }
        }
        Ok(())
    }

    /// The URL of the remote named `name`, else of the default remote.
    pub fn url(&self, name: Option<&str>) -> Option<&str> {
        let name = name.or(self.default_remote.as_deref())?;
        self.remotes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, u)| u.as_str())
    }
}

/// A Git LFS pointer: the object's SHA-256 (64 lowercase hex digits) and
/// size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LfsPointer {
    pub oid: String,
    pub size: u64,
}

impl LfsPointer {
    /// The pointer text git-lfs writes for this object.
    pub fn encode(&self) -> String {
        format!(
            "{LFS_VERSION}\noid sha256:{}\nsize {}\n",
            self.oid, self.size
        )
    }

    /// Where git-lfs keeps the object below `.git/lfs/objects/`.
    pub fn object_path(&self) -> String {
        lfs_object_path(&self.oid)
    }
}

/// Where git-lfs keeps the object with SHA-256 `oid` (hex) below
/// `.git/lfs/objects/`: `<2>/<2>/<oid>`.
pub fn lfs_object_path(oid: &str) -> String {
    let a = oid.get(..2).unwrap_or("");
    let b = oid.get(2..4).unwrap_or("");
    format!("{a}/{b}/{oid}")
}

/// Whether `bytes` start like a Git LFS pointer (cheap; [`parse_lfs_pointer`]
/// decides).
pub fn looks_like_lfs_pointer(bytes: &[u8]) -> bool {
    bytes.len() <= MAX_LFS_POINTER && bytes.starts_with(b"version https://git-lfs.github.com/")
}

/// Parse a Git LFS pointer (spec v1): `version`, then `oid sha256:<hex>`
/// and `size <n>` in that order, each line ending in `\n`. Extensions
/// (`ext-…` lines) are refused: their stored object is not the file.
pub fn parse_lfs_pointer(bytes: &[u8]) -> Result<LfsPointer, ForeignError> {
    limit(bytes, MAX_LFS_POINTER)?;
    let text = std::str::from_utf8(bytes).map_err(|_| field("pointer", "not UTF-8"))?;
    let body = text
        .strip_suffix('\n')
        .ok_or_else(|| field("pointer", "missing final newline"))?;
    let mut lines = body.split('\n');
    if lines.next() != Some(LFS_VERSION) {
        return Err(field("version", "not the Git LFS spec v1"));
    }
    let (mut oid, mut size) = (None, None);
    for line in lines {
        let (k, v) = line
            .split_once(' ')
            .ok_or_else(|| field("pointer", "expected `key value`"))?;
        match k {
            "oid" if oid.is_none() && size.is_none() => {
                let hex = v
                    .strip_prefix("sha256:")
                    .filter(|h| is_hex(h, 64))
                    .ok_or_else(|| field("oid", "not `sha256:` and 64 lowercase hex digits"))?;
                oid = Some(hex.to_string());
            }
            "size" if oid.is_some() && size.is_none() => {
                if v.is_empty()
                    || !v.bytes().all(|b| b.is_ascii_digit())
                    || (v.len() > 1 && v.starts_with('0'))
                {
                    return Err(field("size", "not a canonical decimal number"));
                }
                size = Some(v.parse().map_err(|_| field("size", "too large"))?);
            }
            k if k.starts_with("ext-") => {
                return Err(field("pointer", "uses a Git LFS extension"));
            }
            _ => return Err(field("pointer", format!("unexpected key {:?}", k))),
        }
    }
    match (oid, size) {
        (Some(oid), Some(size)) => Ok(LfsPointer { oid, size }),
        _ => Err(field("pointer", "missing `oid` or `size`")),
    }
}

/// The patterns of `.gitattributes` lines that set `filter=lfs`, with the
/// line number of each (1-based). Comments, macros and other lines are
/// skipped; git ignores what it cannot read, and so does this.
pub fn lfs_attribute_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let t = line.trim();
        if t.is_empty() || t.starts_with('#') || t.starts_with('[') {
            continue;
        }
        let mut words = t.split_whitespace();
        let Some(pattern) = words.next() else {
            continue;
        };
        if words.any(|w| w == "filter=lfs") {
            out.push((i + 1, pattern.to_string()));
        }
    }
    out
}

#[cfg(test)]
#[path = "foreign_tests.rs"]
mod tests;
