//! The work tree: where the repository is, which paths are safe, and where
//! pointers live.
//!
//! Every path that reaches the file system is resolved here first, so the
//! rule "never touch anything outside the work tree" is enforced in one
//! place: user arguments are normalised and must stay under the root, paths
//! read from pointers or listings must be plain relative paths, and no
//! directory on the way to a written file may be a symbolic link.

use std::fs::{self, File};
use std::path::{Component, Path, PathBuf};

use crate::durable::{append_line, lock_file, write_atomic};
use crate::error::{Error, Result};
use crate::format::object::check_rel_path;
use crate::format::pointer::{Pointer, SUFFIX};
use crate::repo::cache_location::CacheLocation;
use crate::repo::config::{Config, INITIAL_CONFIG};

pub use crate::format::object::CAIRN_DIR;

const CAIRN_GITIGNORE: &str = "\
# Local state of cairn; only config.toml is committed.
/cache/
/index
/lock
/config.local.toml
/.cairn-tmp-*
";

/// An initialised (or about to be) cairn repository.
#[derive(Debug, Clone)]
pub struct Workspace {
    root: PathBuf,
    config: Config,
    cache: CacheLocation,
}

/// Find the enclosing git work tree of `start`.
pub fn find_git_root(start: &Path) -> Result<PathBuf> {
    let abs = fs::canonicalize(start).map_err(|e| Error::io("open directory", start, e))?;
    let mut dir: &Path = &abs;
    loop {
        if dir.join(".git").exists() {
            return Ok(dir.to_path_buf());
        }
        match dir.parent() {
            Some(p) => dir = p,
            None => return Err(Error::NotGitRepo { path: abs }),
        }
    }
}

impl Workspace {
    /// Set up `.cairn/` in the git work tree containing `start`. Idempotent.
    pub fn init(start: &Path) -> Result<(Workspace, bool)> {
        let root = find_git_root(start)?;
        let dir = root.join(CAIRN_DIR);
        let created = !dir.join("config.toml").exists();
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        if created {
            write_atomic(&dir.join("config.toml"), INITIAL_CONFIG.as_bytes())?;
        }
        if !dir.join(".gitignore").exists() {
            write_atomic(&dir.join(".gitignore"), CAIRN_GITIGNORE.as_bytes())?;
        }
        let ws = Workspace::open(&root)?;
        Ok((ws, created))
    }

    /// Open the cairn repository containing `start`.
    pub fn open(start: &Path) -> Result<Workspace> {
        let root = find_git_root(start)?;
        let dir = root.join(CAIRN_DIR);
        if !dir.join("config.toml").is_file() {
            return Err(Error::NotInitialized { root });
        }
        let config = Config::load(&dir)?;
        Ok(Workspace::new(root, config))
    }

    fn new(root: PathBuf, config: Config) -> Workspace {
        let cache = CacheLocation::resolve(&root, &config);
        Workspace {
            root,
            config,
            cache,
        }
    }

    /// Open a work tree that git checked out at a revision from before
    /// cairn was set up in it (so `.cairn/config.toml` is gone), when the
    /// caller knows the repository uses cairn on its default branch: the
    /// settings come from the other layers and remotes from that branch's
    /// committed config. `.cairn/` is created for the cache and the lock;
    /// nothing git tracks is written.
    pub fn open_before_init(start: &Path) -> Result<Workspace> {
        let root = find_git_root(start)?;
        let dir = root.join(CAIRN_DIR);
        fs::create_dir_all(&dir).map_err(|e| Error::io("create directory", &dir, e))?;
        let config = Config::load(&dir)?;
        Ok(Workspace::new(root, config))
    }

    /// A view of this repository rooted at `root`, with the same
    /// settings and cache: for storing data that is not in the work tree
    /// (an old revision's, laid out in a scratch directory by `cairn
    /// import`), or for reading another worktree of the same repository.
    pub fn with_root(&self, root: PathBuf) -> Workspace {
        Workspace {
            root,
            config: self.config.clone(),
            cache: self.cache.clone(),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn cairn_dir(&self) -> PathBuf {
        self.root.join(CAIRN_DIR)
    }

    /// The cache this work tree uses (`repo::cache_location`).
    pub fn cache_dir(&self) -> PathBuf {
        self.cache.dir().to_path_buf()
    }

    pub fn cache_location(&self) -> &CacheLocation {
        &self.cache
    }

    /// Look again where the cache is, after it was moved.
    pub fn relocate_cache(&mut self) {
        self.cache = CacheLocation::resolve(&self.root, &self.config);
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    pub fn stat_index_path(&self) -> PathBuf {
        self.cairn_dir().join("index")
    }

    pub fn lock_path(&self) -> PathBuf {
        self.cairn_dir().join("lock")
    }

    /// Take the repository lock, failing at once if another process has it.
    /// The OS releases it when the process exits, even after `kill -9`.
    pub fn lock(&self) -> Result<RepoLock> {
        Ok(RepoLock {
            _file: lock_file(&self.lock_path())?,
        })
    }

    /// [`Self::rel_path`] for each of `args`.
    pub fn rel_paths(&self, cwd: &Path, args: &[PathBuf]) -> Result<Vec<String>> {
        args.iter().map(|a| self.rel_path(cwd, a)).collect()
    }

    /// Resolve a user-supplied path (relative to `cwd`) to a repository-
    /// relative, `/`-separated path, refusing anything outside the work tree.
    pub fn rel_path(&self, cwd: &Path, arg: &Path) -> Result<String> {
        let joined = if arg.is_absolute() {
            arg.to_path_buf()
        } else {
            let cwd = fs::canonicalize(cwd).map_err(|e| Error::io("open directory", cwd, e))?;
            cwd.join(arg)
        };
        let mut norm = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    norm.pop();
                }
                Component::CurDir => {}
                other => norm.push(other),
            }
        }
        let rel = norm
            .strip_prefix(&self.root)
            .map_err(|_| Error::OutsideRepo {
                path: arg.to_path_buf(),
                root: self.root.clone(),
            })?;
        let s = rel.to_str().ok_or_else(|| Error::NonUtf8Path {
            path: arg.to_path_buf(),
        })?;
        if s.is_empty() {
            return Err(Error::CannotTrack {
                path: arg.to_path_buf(),
                reason: "it is the repository root; add a directory or file inside it",
            });
        }
        check_rel_path(s).map_err(|reason| Error::UnsafePath {
            path: s.to_string(),
            reason,
        })?;
        Ok(s.to_string())
    }

    /// Absolute path of a repository-relative path, after checking that no
    /// existing directory on the way is a symbolic link (which could lead
    /// outside the work tree).
    pub fn safe_abs(&self, rel: &str) -> Result<PathBuf> {
        check_rel_path(rel).map_err(|reason| Error::UnsafePath {
            path: rel.to_string(),
            reason,
        })?;
        let mut p = self.root.clone();
        let comps: Vec<&str> = rel.split('/').collect();
        for (i, c) in comps.iter().enumerate() {
            p.push(c);
            if i + 1 == comps.len() {
                break;
            }
            match fs::symlink_metadata(&p) {
                Ok(m) if m.file_type().is_symlink() => {
                    return Err(Error::UnsafePath {
                        path: rel.to_string(),
                        reason: "a directory on the way is a symbolic link",
                    })
                }
                _ => {}
            }
        }
        Ok(p)
    }

    /// Every data path with a pointer, as repository-relative paths, sorted.
    /// Directories that are themselves tracked data are not descended into.
    pub fn find_tracked(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        let root = self.root.clone();
        let walker = walkdir::WalkDir::new(&root)
            .min_depth(1)
            .sort_by_file_name()
            .into_iter()
            .filter_entry(|e| {
                if !e.file_type().is_dir() {
                    return true;
                }
                let name = e.file_name();
                if name == ".git" || name == CAIRN_DIR {
                    return false;
                }
                // A tracked data directory: its pointer sits beside it.
                let mut ptr = e.path().as_os_str().to_owned();
                ptr.push(SUFFIX);
                if Path::new(&ptr).is_file() {
                    return false;
                }
                // A nested repository is its own world.
                e.depth() == 0 || !e.path().join(".git").exists()
            });
        for entry in walker {
            let entry = entry.map_err(|e| {
                let path = e
                    .path()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| root.clone());
                Error::io("walk", path, e.into())
            })?;
            if !entry.file_type().is_file() {
                continue;
            }
            let Some(name) = entry.file_name().to_str() else {
                continue;
            };
            if name.len() <= SUFFIX.len() || !name.ends_with(SUFFIX) {
                continue;
            }
            let rel = entry
                .path()
                .strip_prefix(&root)
                .expect("walk stays under root")
                .to_str()
                .ok_or_else(|| Error::NonUtf8Path {
                    path: entry.path().to_path_buf(),
                })?;
            out.push(rel[..rel.len() - SUFFIX.len()].to_string());
        }
        Ok(out)
    }

    /// The `.gitignore` (absolute) that ignores the data path `rel`, and
    /// the line in it that does.
    fn ignore_line(&self, rel: &str) -> Result<(PathBuf, String)> {
        let (parent, name) = match rel.rsplit_once('/') {
            Some((p, n)) => (self.safe_abs(p)?, n),
            None => (self.root.clone(), rel),
        };
        Ok((
            parent.join(".gitignore"),
            format!("/{}", gitignore_escape(name)),
        ))
    }

    /// Make sure git ignores the data path `rel`, through the `.gitignore`
    /// in its parent directory. Written atomically; existing lines are kept.
    pub fn ensure_ignored(&self, rel: &str) -> Result<()> {
        let (path, line) = self.ignore_line(rel)?;
        append_line(&path, &line, |l| l == line)?;
        Ok(())
    }
}

impl Workspace {
    /// The `.gitignore` that holds the line [`Self::ensure_ignored`] writes
    /// for `rel`, as a repository-relative path.
    pub fn gitignore_of(rel: &str) -> String {
        match rel.rsplit_once('/') {
            Some((parent, _)) => format!("{parent}/.gitignore"),
            None => ".gitignore".to_string(),
        }
    }

    /// Take out the line [`Self::ensure_ignored`] wrote for `rel`, exactly
    /// that line: every other byte and the file's mode stay. A file left
    /// empty held nothing but cairn's lines and is deleted. What happened:
    /// `None` (no such line), `Some(false)` (edited), `Some(true)` (deleted).
    pub fn remove_ignored(&self, rel: &str) -> Result<Option<bool>> {
        let (path, line) = self.ignore_line(rel)?;
        let existing = match fs::read_to_string(&path) {
            Ok(s) => s,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(Error::io("read", &path, e)),
        };
        let kept: String = existing
            .split_inclusive('\n')
            .filter(|l| l.trim_end_matches(['\n', '\r']) != line)
            .collect();
        if kept.len() == existing.len() {
            return Ok(None);
        }
        if kept.is_empty() {
            fs::remove_file(&path).map_err(|e| Error::io("remove", &path, e))?;
            return Ok(Some(true));
        }
        write_atomic(&path, kept.as_bytes())?;
        Ok(Some(false))
    }
}

/// Escape a file name so a `.gitignore` line matches it literally.
pub fn gitignore_escape(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for (i, c) in name.chars().enumerate() {
        if matches!(c, '*' | '?' | '[' | '\\') || (i == 0 && matches!(c, '#' | '!')) {
            out.push('\\');
        }
        out.push(c);
    }
    if out.ends_with(' ') {
        out.pop();
        out.push_str("\\ ");
    }
    out
}

/// Held while a command writes to the repository; released on drop.
pub struct RepoLock {
    _file: File,
}

/// Read and parse the pointer of tracked path `rel`.
pub fn read_pointer(ws: &Workspace, rel: &str) -> Result<Pointer> {
    let path = ws.safe_abs(&format!("{rel}{}", SUFFIX))?;
    let text = match fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotTracked {
                path: ws.root().join(rel),
            })
        }
        Err(e) => return Err(Error::io("read pointer", &path, e)),
    };
    if !Pointer::looks_like_pointer(&text) {
        return Err(Error::NotAPointer { path });
    }
    Pointer::parse(&path, &text)
}

/// Like [`read_pointer`], but a file that is not a pointer at all is
/// reported to `progress` and skipped (`None`), so that one stray
/// `*.cairn` data file does not stop a command for every tracked path.
pub fn read_pointer_or_skip(
    ws: &Workspace,
    rel: &str,
    progress: &dyn crate::progress::Progress,
) -> Result<Option<Pointer>> {
    match read_pointer(ws, rel) {
        Ok(p) => Ok(Some(p)),
        Err(Error::NotAPointer { path }) => {
            progress.warn(crate::progress::Warning::NotAPointer {
                path,
                reason: "it does not start with `cairn-pointer`".into(),
            });
            Ok(None)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remove_ignored_takes_out_exactly_cairns_line() {
        use std::os::unix::fs::PermissionsExt;
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir(d.path().join(".git")).unwrap();
        Workspace::init(d.path()).unwrap();
        let ws = Workspace::open(d.path()).unwrap();
        let gi = d.path().join(".gitignore");
        std::fs::write(&gi, "# mine\r\n/data\r\n/data2\n*.tmp").unwrap();
        std::fs::set_permissions(&gi, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(ws.remove_ignored("data").unwrap(), Some(false));
        assert_eq!(
            std::fs::read_to_string(&gi).unwrap(),
            "# mine\r\n/data2\n*.tmp"
        );
        let mode = std::fs::metadata(&gi).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        assert_eq!(ws.remove_ignored("data").unwrap(), None);
        std::fs::write(&gi, "/data2\n").unwrap();
        assert_eq!(ws.remove_ignored("data2").unwrap(), Some(true));
        assert!(!gi.exists());
        assert_eq!(ws.remove_ignored("data2").unwrap(), None);
    }

    #[test]
    fn gitignore_escaping() {
        assert_eq!(gitignore_escape("data"), "data");
        assert_eq!(gitignore_escape("#a*b?[c]"), "\\#a\\*b\\?\\[c]");
        assert_eq!(gitignore_escape("!x "), "\\!x\\ ");
    }
}
