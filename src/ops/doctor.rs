//! `doctor`: everything worth knowing when cairn does not behave, in one
//! report: the version, the effective configuration and where each value
//! came from, each remote and whether it answers, the cache's location and
//! size, whether the git hooks are installed, and whether git merges
//! `.gitignore` files by union (`repo::gitattributes`).
//!
//! It reads and asks, and never changes anything but the cache directory
//! it opens. Outside a repository it still reports what it can (the
//! version, the user's and the environment's configuration), as
//! `git lfs env` does, so it can check an installation anywhere. Each remote gets one cheap request (a listing of its index
//! files) with short time limits and no retries; an unreachable remote, a
//! broken config entry, a cache that cannot be opened or a damaged pack is
//! a finding in the report (its `problems`), not an error, so every other
//! check still runs.
//!
//! ```no_run
//! use std::path::Path;
//!
//! use cairn::ops::{doctor, Session};
//!
//! let report = doctor::doctor(&Session::open(Path::new("."))?)?;
//! for p in &report.problems {
//!     println!("problem: {p}");
//! }
//! # Ok::<(), cairn::Error>(())
//! ```

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use serde::Serialize;

use super::Session;
use crate::error::Result;
use crate::progress::{Progress, Warning};
use crate::remote::index::INDEX_DIR;
use crate::remote::listing::Listed;
use crate::remote::Location;
use crate::repo::config_edit::{Entry, Files};
use crate::transfer::Connection;

/// What `cairn doctor` found (and `--json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct DoctorReport {
    /// The version of this cairn.
    pub version: String,
    /// The work tree; `None` when run outside a cairn repository.
    pub root: Option<PathBuf>,
    /// Why there is no repository here, when `root` is `None`.
    pub no_repository: Option<String>,
    /// The effective configuration, sorted by key.
    pub config: Vec<Entry>,
    pub remotes: Vec<RemoteCheck>,
    /// The cache; `None` outside a repository.
    pub cache: Option<CacheCheck>,
    /// Whether cairn's git hooks are installed in this repository.
    pub hooks_installed: bool,
    /// Whether the root `.gitattributes` says how `.gitignore` files merge
    /// (`cairn init` writes `.gitignore merge=union`); false outside a
    /// repository.
    pub gitignore_merge_rule: bool,
    /// What is wrong, one sentence each; empty when all is well.
    pub problems: Vec<String>,
}

impl DoctorReport {
    pub fn healthy(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One remote and whether it answered.
#[derive(Debug, Clone, Serialize)]
pub struct RemoteCheck {
    pub name: String,
    /// Its URL, credentials redacted; `None` without a usable one.
    pub url: Option<String>,
    /// The config layer that defines it.
    pub layer: &'static str,
    /// The file (relative to the work tree when inside it) or branch it
    /// was read from.
    pub source: String,
    pub default: bool,
    /// Whether a listing of its index files succeeded.
    pub reachable: bool,
    /// Why it cannot be used or reached.
    pub error: Option<String>,
    /// Something worth knowing that is not a problem, such as a folder
    /// remote that the first push will create.
    pub note: Option<String>,
}

/// The local cache.
#[derive(Debug, Clone, Serialize)]
pub struct CacheCheck {
    pub dir: PathBuf,
    /// Bytes of all pack files, damaged ones included.
    pub bytes: u64,
    /// Pack files, damaged ones included.
    pub packs: usize,
    /// Objects indexed from the readable packs.
    pub objects: usize,
    /// Packs whose footer cannot be read.
    pub damaged_packs: Vec<DamagedPack>,
}

/// A pack the cache could not read.
#[derive(Debug, Clone, Serialize)]
pub struct DamagedPack {
    pub path: PathBuf,
    pub reason: &'static str,
}

/// A remote gets this long to connect and to answer: a doctor should not
/// hang on a dead endpoint.
const CONNECT_LIMIT: Duration = Duration::from_secs(3);
const REQUEST_LIMIT: Duration = Duration::from_secs(5);

/// Run every check on the repository of `s`.
pub fn doctor(s: &Session) -> Result<DoctorReport> {
    let ws = s.workspace();
    let files = super::config::files(Some(s));
    let mut problems: Vec<String> = Vec::new();
    let cfg = ws.config();
    problems.extend(cfg.ignored_cache_dir.iter().map(|i| i.to_string()));
    problems.extend(cfg.unknown_keys.iter().map(|u| u.to_string()));
    let remotes = check_remotes(s, &files);
    for r in &remotes {
        if let Some(e) = &r.error {
            problems.push(match r.name.as_str() {
                "" => format!("{}: {e}", r.source),
                name if e.starts_with(&format!("remote {name} ")) => e.clone(),
                name => format!("remote {name}: {e}"),
            });
        }
    }
    // A cache that cannot be opened is a finding like any other.
    let cache = check_cache(s).unwrap_or_else(|e| {
        problems.push(format!("cache: {}", describe(&e)));
        CacheCheck {
            dir: ws.cache_dir(),
            bytes: 0,
            packs: 0,
            objects: 0,
            damaged_packs: Vec::new(),
        }
    });
    for d in &cache.damaged_packs {
        problems.push(format!(
            "damaged pack {}: {} (`cairn verify` says more)",
            d.path.display(),
            d.reason
        ));
    }
    // A repository set up before `init` wrote the rule stops every merge
    // of two branches that each track a new path on `.gitignore`.
    let gitignore_merge_rule = crate::repo::gitattributes::has_merge_rule(ws.root());
    if !gitignore_merge_rule {
        problems.push(
            "`.gitattributes` sets no merge rule for `.gitignore`, so merging two branches that each track a new path stops on a conflict (`cairn init` adds `.gitignore merge=union`)"
                .to_string(),
        );
    }
    Ok(DoctorReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        root: Some(ws.root().to_path_buf()),
        no_repository: None,
        config: files.entries(None)?,
        remotes,
        cache: Some(cache),
        hooks_installed: super::hooks::installed(s),
        gitignore_merge_rule,
        problems,
    })
}

/// What can be checked where there is no repository (`why` says why
/// not): the version and the configuration of the user and the
/// environment. Remotes and the cache belong to a repository.
pub fn doctor_outside(why: &crate::Error) -> Result<DoctorReport> {
    let files = super::config::files(None);
    Ok(DoctorReport {
        version: env!("CARGO_PKG_VERSION").to_string(),
        root: None,
        no_repository: Some(why.to_string()),
        config: files.entries(None)?,
        remotes: Vec::new(),
        cache: None,
        hooks_installed: false,
        gitignore_merge_rule: false,
        problems: Vec::new(),
    })
}

fn check_remotes(s: &Session, files: &Files) -> Vec<RemoteCheck> {
    let rows = s.remotes();
    // One row per name: the one naming its URL (or its problem) in the
    // layer that wins, not a later layer's override of one setting.
    let speaks = |r: &&Listed| r.url.is_some() || r.problem.is_some();
    let mut names: Vec<&str> = Vec::new();
    for r in &rows {
        if !names.contains(&r.name.as_str()) {
            names.push(&r.name);
        }
    }
    let mut out = Vec::new();
    for r in rows.iter().filter(|r| r.name.is_empty()).chain(
        names.iter().filter(|n| !n.is_empty()).filter_map(|n| {
            let same = || rows.iter().filter(move |r| r.name == *n);
            same().rfind(speaks).or_else(|| same().next_back())
        }),
    ) {
        let mut check = RemoteCheck {
            name: r.name.clone(),
            url: r.url.clone(),
            layer: r.layer.name(),
            source: files.shown(std::path::Path::new(&r.origin)),
            default: r.default,
            reachable: false,
            error: r.problem.clone(),
            note: None,
        };
        if check.error.is_none() && !r.name.is_empty() {
            match reach(s, &r.name) {
                Ok(Reach::Answered) => check.reachable = true,
                Ok(Reach::NotCreatedYet(dir)) => {
                    check.reachable = true;
                    check.note = Some(format!(
                        "nothing pushed yet: the first push creates {}",
                        dir.display()
                    ));
                }
                Err(e) => check.error = Some(describe(&e)),
            }
        }
        out.push(check);
    }
    out
}

/// The error and the causes its message does not already quote.
fn describe(e: &crate::Error) -> String {
    let mut text = e.to_string();
    for cause in crate::explain::causes(e) {
        text.push_str(": ");
        text.push_str(&cause);
    }
    text
}

/// How a remote answered.
enum Reach {
    Answered,
    /// A folder remote whose directory does not exist yet, below a
    /// directory a push can create it in.
    NotCreatedYet(PathBuf),
}

/// One listing of the remote's index files, with short limits.
fn reach(s: &Session, name: &str) -> Result<Reach> {
    let mut r = s.remote(Some(name))?;
    if let Location::Folder(dir) = &r.location {
        if !dir.exists() && creatable(dir) {
            return Ok(Reach::NotCreatedYet(dir.clone()));
        }
    }
    r.settings.connect_timeout = r.settings.connect_timeout.min(CONNECT_LIMIT);
    r.settings.request_timeout = r.settings.request_timeout.min(REQUEST_LIMIT);
    r.settings.retries = 0;
    let conn = Connection::open(r, &s.workspace().cache_dir(), false)?;
    conn.list(INDEX_DIR)?;
    Ok(Reach::Answered)
}

/// Whether `create_dir_all(dir)` can succeed: its nearest existing
/// ancestor is a directory this process may write in.
fn creatable(dir: &std::path::Path) -> bool {
    let Some(mut up) = dir.parent() else {
        return false;
    };
    loop {
        match std::fs::metadata(up) {
            Ok(m) => return m.is_dir() && writable(up),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match up.parent() {
                Some(p) => up = p,
                None => return false,
            },
            Err(_) => return false,
        }
    }
}

#[cfg(unix)]
fn writable(dir: &std::path::Path) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let Ok(c) = std::ffi::CString::new(dir.as_os_str().as_bytes()) else {
        return false;
    };
    // SAFETY: `c` is a valid NUL-terminated path that outlives the call.
    unsafe { libc::access(c.as_ptr(), libc::W_OK | libc::X_OK) == 0 }
}

#[cfg(not(unix))]
fn writable(dir: &std::path::Path) -> bool {
    std::fs::metadata(dir).is_ok_and(|m| !m.permissions().readonly())
}

/// Collects the damaged packs the store reports as it opens.
#[derive(Default)]
struct Damaged(Mutex<Vec<DamagedPack>>);

impl Progress for Damaged {
    fn warn(&self, w: Warning) {
        if let Warning::UnreadablePack { path, reason } = w {
            if let Ok(mut v) = self.0.lock() {
                v.push(DamagedPack { path, reason });
            }
        }
    }
}

fn check_cache(s: &Session) -> Result<CacheCheck> {
    let damaged = Damaged::default();
    let store = s.store(&damaged)?;
    let damaged_packs = damaged.0.into_inner().unwrap_or_default();
    let sealed = store.sealed_packs();
    let bytes = sealed.iter().map(|p| p.len).sum::<u64>()
        + damaged_packs
            .iter()
            .filter_map(|d| std::fs::metadata(&d.path).ok())
            .map(|m| m.len())
            .sum::<u64>();
    Ok(CacheCheck {
        dir: store.root().to_path_buf(),
        bytes,
        packs: sealed.len() + damaged_packs.len(),
        objects: store.len(),
        damaged_packs,
    })
}
