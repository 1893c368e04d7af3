//! Which version and which tracked data a command works on, resolved once
//! from the words a user typed.
//!
//! `checkout`, `pull`, `fetch` and `ls` take `[REV] [PATH…]`, `push` takes
//! `[REV…] [PATH…]`, `status` and `log` take paths only. All of them read
//! the words the way git does without `--`: a word that exists in the work
//! tree, or names tracked data (even deleted data), is a path; any other
//! word must be a revision. Paths are taken relative to the directory the
//! user is in and a pointer file's name stands for its data, so what comes
//! out is repository-relative and the operations never see the user's
//! working directory. The same module then turns a selection into
//! pointers, so every verb agrees on what `data/x` selects at a revision
//! and in the work tree.

use std::path::{Path, PathBuf};

use crate::engine::status::read_pointer_or_skip;
use crate::error::{Error, Result};
use crate::format::pointer::{Pointer, SUFFIX};
use crate::progress::Progress;
use crate::repo::git::GitError;
use crate::repo::history::{
    filter, pointers_at, pointers_in_work_tree, select_tracked_rel, Tracked,
};

use super::Session;

/// Pointers a command works on: tracked path, pointer, and the sub-path
/// inside a tracked directory when only part of it was asked for.
pub type Selected = Vec<(String, Pointer, Option<String>)>;

/// A version (a revision, or the work tree) and the tracked paths in it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Selection {
    /// The revision; `None`: the work tree's pointers.
    pub rev: Option<String>,
    /// Repository-relative tracked paths, or paths inside tracked
    /// directories; empty: all.
    pub paths: Vec<String>,
}

/// Several revisions and one set of paths: `push`'s `[REV…] [PATH…]`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Revisions {
    /// The revisions, in the order given; empty: none was named.
    pub revs: Vec<String>,
    /// Repository-relative paths; empty: all.
    pub paths: Vec<String>,
}

impl Selection {
    /// Everything tracked at revision `rev`.
    pub fn at(rev: impl Into<String>) -> Selection {
        Selection {
            rev: Some(rev.into()),
            paths: Vec::new(),
        }
    }

    /// Read `[REV] [PATH…]` words, relative to `cwd`: the first word is a
    /// revision unless it is a path (see the module documentation); an
    /// unknown first word is [`Error::NotRevisionOrPath`]. Without git,
    /// every word is a path.
    ///
    /// ```no_run
    /// use std::path::Path;
    ///
    /// use cairn::ops::select::Selection;
    /// use cairn::ops::Session;
    /// use cairn::progress::Silent;
    ///
    /// let s = Session::open(Path::new("."))?;
    /// // `cairn pull v1 data` run in the repository's root.
    /// let sel = Selection::parse(&s, Path::new("."), &["v1".into(), "data".into()])?;
    /// assert_eq!(sel.rev.as_deref(), Some("v1"));
    /// for (path, pointer, _) in sel.pointers(&s, &Silent)? {
    ///     println!("{path}: {} bytes", pointer.size());
    /// }
    /// # Ok::<(), cairn::Error>(())
    /// ```
    pub fn parse(s: &Session, cwd: &Path, words: &[String]) -> Result<Selection> {
        let Some(first) = words.first() else {
            return Ok(Selection::default());
        };
        if !names_path(s, cwd, first)? {
            if let Some(g) = s.git() {
                return match g.resolve(first) {
                    Ok(_) => Ok(Selection {
                        rev: Some(first.clone()),
                        paths: paths(s, cwd, &words[1..])?,
                    }),
                    Err(GitError::UnknownRevision { .. }) => Err(Error::NotRevisionOrPath {
                        word: first.clone(),
                    }),
                    Err(e) => Err(e.into()),
                };
            }
        }
        Ok(Selection {
            rev: None,
            paths: paths(s, cwd, words)?,
        })
    }

    /// The tracked data of this version at or below `paths` (or that holds
    /// one of them), sorted by path; a path that names nothing selects
    /// nothing. A revision needs git.
    pub fn tracked(&self, s: &Session, progress: &dyn Progress) -> Result<Vec<Tracked>> {
        let all = match &self.rev {
            Some(r) => pointers_at(s.require_git()?, r)?,
            None => pointers_in_work_tree(s.workspace(), progress)?,
        };
        Ok(filter(all, &self.paths))
    }

    /// Each tracked path this selection names, with its pointer and the
    /// part of it asked for; a path that names no tracked data is
    /// [`Error::NotTracked`]. See [`select_at`].
    pub fn pointers(&self, s: &Session, progress: &dyn Progress) -> Result<Selected> {
        select_at(s, self.rev.as_deref(), &self.paths, progress)
    }
}

impl Revisions {
    /// Read `[REV…] [PATH…]` words, relative to `cwd`: leading words that
    /// name revisions (and no path), then paths.
    pub fn parse(s: &Session, cwd: &Path, words: &[String]) -> Result<Revisions> {
        let mut revs = Vec::new();
        let mut i = 0;
        while i < words.len() {
            match Selection::parse(s, cwd, &words[i..=i])?.rev {
                Some(r) => revs.push(r),
                None => break,
            }
            i += 1;
        }
        let paths = Selection::parse(s, cwd, &words[i..])?.paths;
        Ok(Revisions { revs, paths })
    }
}

/// A user's path argument (relative to `cwd`) as the repository-relative
/// path of the data it names: a pointer file's name stands for its data.
pub fn path(s: &Session, cwd: &Path, arg: &Path) -> Result<String> {
    let rel = s.workspace().rel_path(cwd, arg)?;
    Ok(rel.strip_suffix(SUFFIX).map(str::to_string).unwrap_or(rel))
}

/// [`path`] for each of `args`.
pub fn paths<P: AsRef<Path>>(s: &Session, cwd: &Path, args: &[P]) -> Result<Vec<String>> {
    args.iter().map(|a| path(s, cwd, a.as_ref())).collect()
}

/// Whether `word` is a path: it exists in the work tree (as data or as a
/// pointer file), or names tracked data, or a path inside it, that is gone.
fn names_path(s: &Session, cwd: &Path, word: &str) -> Result<bool> {
    let p = cwd.join(word);
    if p.symlink_metadata().is_ok() || PathBuf::from(format!("{}{SUFFIX}", p.display())).is_file() {
        return Ok(true);
    }
    let Ok(rel) = path(s, cwd, Path::new(word)) else {
        return Ok(false);
    };
    Ok(s.workspace().find_tracked()?.iter().any(|t| {
        *t == rel || t.starts_with(&format!("{rel}/")) || rel.starts_with(&format!("{t}/"))
    }))
}

/// The pointers of `rev` (or of the work tree) at or below `paths`, each
/// with the part of it a path inside a tracked directory asks for. A file
/// in the work tree that merely ends in `.cairn` is skipped, with a warning
/// to `progress`. Without git, a revision is ignored and the work tree's
/// pointers are used.
pub fn select_at(
    s: &Session,
    rev: Option<&str>,
    paths: &[String],
    progress: &dyn Progress,
) -> Result<Selected> {
    let ws = s.workspace();
    let mut out = Vec::new();
    // git is opened only for a revision.
    match rev.and_then(|r| s.git().map(|g| (r, g))) {
        Some((r, g)) => {
            let at = pointers_at(g, r)?;
            let rels: Vec<String> = at.iter().map(|(rel, _)| rel.clone()).collect();
            for (rel, only) in select_tracked_rel(ws, &rels, paths)? {
                if let Some((_, ptr)) = at.iter().find(|(t, _)| *t == rel) {
                    out.push((rel, ptr.clone(), only));
                }
            }
        }
        None => {
            let mut tracked = ws.find_tracked()?;
            // A work tree at a revision from before `cairn import`.
            let foreign = crate::repo::foreign::in_work_tree(ws.root(), &tracked)?;
            tracked.extend(foreign.iter().map(|(p, _)| p.clone()));
            tracked.sort();
            for (rel, only) in select_tracked_rel(ws, &tracked, paths)? {
                if let Some((_, ptr)) = foreign.iter().find(|(p, _)| *p == rel) {
                    out.push((rel, ptr.clone(), only));
                } else if let Some(ptr) = read_pointer_or_skip(ws, &rel, progress)? {
                    out.push((rel, ptr, only));
                }
            }
        }
    }
    Ok(out)
}
