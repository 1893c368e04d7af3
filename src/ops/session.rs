//! One command's view of a repository: the work tree, git, the cache and
//! the locks, each opened at most once and shared by every step of the
//! command.
//!
//! A verb that is two steps (`pull` is a fetch and a checkout) runs both on
//! one session, so it reads the config once, opens git once, and restores
//! from the very store the fetch wrote into. Locks taken through a session
//! are held until the session is dropped: a command never releases the
//! work tree halfway and lets another writer in between its steps.

use std::cell::OnceCell;
use std::path::Path;

use crate::error::Result;
use crate::progress::Progress;
use crate::remote::listing::Listed;
use crate::remote::{CommittedConfig, ResolvedRemote};
use crate::repo::cache_location::CacheLocation;
use crate::repo::git::GitRepo;
use crate::repo::workspace::{RepoLock, Workspace};
use crate::store::{CacheLock, Store};

/// An open repository for the length of one command.
pub struct Session {
    ws: Workspace,
    git: OnceCell<Option<GitRepo>>,
    store: OnceCell<Store>,
    lock: OnceCell<RepoLock>,
    cache_lock: OnceCell<CacheLock>,
    /// `-j N`, which wins over `transfer.jobs`.
    jobs: Option<usize>,
}

impl Session {
    /// Open the cairn repository that contains `dir`.
    /// A work tree that git checked out at a revision from before `cairn
    /// import` has no `.cairn/config.toml`; it is still opened when the
    /// default branch holds an import map, so `cairn pull` restores that
    /// revision's data (FORMAT.md §16).
    pub fn open(dir: &Path) -> Result<Session> {
        match Workspace::open(dir) {
            Err(crate::Error::NotInitialized { root }) => {
                let imported = GitRepo::open(&root).is_ok_and(|g| {
                    g.file_at_default_branch(crate::format::import_map::PATH)
                        .is_ok_and(|f| f.is_some())
                });
                if !imported {
                    return Err(
                        not_checked_out(&root).unwrap_or(crate::Error::NotInitialized { root })
                    );
                }
                Ok(Session::new(Workspace::open_before_init(&root)?))
            }
            other => Ok(Session::new(other?)),
        }
    }

    /// A session on a workspace opened elsewhere. A cache still where
    /// cairn kept it before is moved to where it lives now
    /// (`repo::cache_location`) first. That is best effort: a move that
    /// cannot happen now leaves the old cache whole and in use, and the
    /// next command tries again.
    pub fn new(mut ws: Workspace) -> Session {
        if let CacheLocation::Legacy { dir, to } = ws.cache_location().clone() {
            if crate::store::relocate::move_cache(&dir, &to).is_ok() {
                ws.relocate_cache();
            }
        }
        Session {
            ws,
            git: OnceCell::new(),
            store: OnceCell::new(),
            lock: OnceCell::new(),
            cache_lock: OnceCell::new(),
            jobs: None,
        }
    }

    /// Keep `jobs` requests in flight in this session's transfers (`-j`),
    /// whatever `transfer.jobs` says; `None` leaves the config's choice.
    pub fn set_jobs(&mut self, jobs: Option<usize>) {
        self.jobs = jobs;
    }

    /// The requests a transfer keeps in flight: `-j`, else
    /// `transfer.jobs`, else the default.
    pub fn jobs(&self) -> crate::transfer::Jobs {
        match self.jobs.or(self.ws.config().transfer_jobs) {
            Some(n) => crate::transfer::Jobs::all(n),
            None => crate::transfer::Jobs::default(),
        }
    }

    pub fn workspace(&self) -> &Workspace {
        &self.ws
    }

    /// The repository's git, or `None` when git cannot open it (a work
    /// tree whose `.git` is damaged still has pointers to work with).
    pub fn git(&self) -> Option<&GitRepo> {
        self.git
            .get_or_init(|| GitRepo::open(self.ws.root()).ok())
            .as_ref()
    }

    /// The repository's git, for a step that cannot work without it; the
    /// error says why git could not open it.
    pub fn require_git(&self) -> Result<&GitRepo> {
        match self.git() {
            Some(g) => Ok(g),
            None => Err(GitRepo::open(self.ws.root())
                .err()
                .map(crate::Error::from)
                .unwrap_or_else(|| crate::Error::NotGitRepo {
                    path: self.ws.root().to_path_buf(),
                })),
        }
    }

    /// The cache, opened on first use. Unreadable packs are reported
    /// through the `progress` of that first use and left out.
    pub fn store(&self, progress: &dyn Progress) -> Result<&Store> {
        if let Some(s) = self.store.get() {
            return Ok(s);
        }
        let s = Store::open(&self.ws.cache_dir(), progress)?;
        Ok(self.store.get_or_init(|| s))
    }

    /// The cache, opened if it is not yet, for use after the session ends
    /// (a reader that outlives the command); the session's locks are
    /// released.
    pub fn into_store(self, progress: &dyn Progress) -> Result<Store> {
        let Session { ws, store, .. } = self;
        match store.into_inner() {
            Some(s) => Ok(s),
            None => Store::open(&ws.cache_dir(), progress),
        }
    }

    /// The cache with its write lock, held for the rest of the session.
    pub fn store_locked(&self, progress: &dyn Progress) -> Result<(&Store, &CacheLock)> {
        let store = self.store(progress)?;
        if let Some(l) = self.cache_lock.get() {
            return Ok((store, l));
        }
        let l = store.lock()?;
        Ok((store, self.cache_lock.get_or_init(|| l)))
    }

    /// Take the work tree's lock for the rest of the session (no-op when
    /// already held).
    pub fn lock(&self) -> Result<()> {
        if self.lock.get().is_none() {
            let l = self.ws.lock()?;
            let _ = self.lock.set(l);
        }
        Ok(())
    }

    /// Take the work tree's lock if nobody else holds it; whether the
    /// session now holds it.
    pub fn try_lock(&self) -> bool {
        self.lock().is_ok()
    }
}

impl Session {
    /// Resolve a remote (a name or URL; `None`: the configured default),
    /// falling back to the default branch's committed config for a commit
    /// made before the remote was added.
    pub fn remote(&self, requested: Option<&str>) -> Result<ResolvedRemote> {
        crate::remote::resolve(
            &self.ws.cairn_dir(),
            self.ws.root(),
            &GitConfig(self.git()),
            requested,
        )
    }

    /// Every remote of every config layer, broken entries flagged.
    pub fn remotes(&self) -> Vec<Listed> {
        crate::remote::listing::list_all(
            &self.ws.cairn_dir(),
            self.ws.root(),
            &GitConfig(self.git()),
        )
    }
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Session")
            .field("root", &self.ws.root())
            .finish_non_exhaustive()
    }
}

/// The committed config as git records it, for resolving remotes.
struct GitConfig<'a>(Option<&'a GitRepo>);

const CONFIG_PATH: &str = ".cairn/config.toml";

impl CommittedConfig for GitConfig<'_> {
    fn at_head(&self) -> Option<Option<Vec<u8>>> {
        self.0?.file_at("HEAD", CONFIG_PATH).ok()
    }

    fn at_default_branch(&self) -> Result<Option<(String, Vec<u8>)>> {
        match self.0 {
            Some(g) => Ok(g.file_at_default_branch(CONFIG_PATH)?),
            None => Ok(None),
        }
    }
}

/// The error for a work tree without `.cairn/config.toml` whose `HEAD`
/// commits one (a sparse checkout that leaves `.cairn/` out, or a deleted
/// directory): `cairn init` there would write a second, different config.
fn not_checked_out(root: &Path) -> Option<crate::Error> {
    let git = GitRepo::open(root).ok()?;
    git.file_at("HEAD", CONFIG_PATH).ok()??;
    Some(crate::Error::ConfigNotCheckedOut {
        root: root.to_path_buf(),
    })
}
