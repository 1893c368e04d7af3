//! Turning a revision name into a commit, and a failure into the error
//! that says why.
//!
//! Anything `git rev-parse` accepts that names one commit resolves
//! (annotated tags are peeled); index forms (`:path`) are refused so the
//! index is never read. When resolution fails the reason is told apart: an
//! empty repository, a shallow clone whose history ends too early, an
//! object that is missing, or a name that means nothing here, since each
//! needs a different remedy.

use std::collections::HashSet;

use gix::objs::{CommitRefIter, Find, Kind, TagRefIter};
use gix::ObjectId;

use super::{GitError, GitRepo, Result};

impl GitRepo {
    pub(super) fn resolve_id(&self, rev: &str) -> Result<ObjectId> {
        if rev.starts_with(':') && !rev.starts_with(":/") {
            // `:path` and `:N:path` name index entries; `:/text` searches commit messages.
            return Err(GitError::NotACommit {
                rev: rev.to_owned(),
                kind: "index entry",
            });
        }
        let id = match self.repo.rev_parse_single(rev) {
            Ok(id) => id.detach(),
            Err(err) => return Err(self.classify_rev_error(rev, err)),
        };
        // Peel annotated tags (possibly nested) down to the commit.
        let mut id = id;
        let mut buf = Vec::new();
        loop {
            let Some(obj) = self.repo.objects.try_find(&id, &mut buf)? else {
                return Err(self.missing(rev, id));
            };
            match obj.kind {
                Kind::Commit => return Ok(id),
                Kind::Tag => {
                    id = TagRefIter::from_bytes(obj.data, self.repo.object_hash()).target_id()?
                }
                kind => {
                    return Err(GitError::NotACommit {
                        rev: rev.to_owned(),
                        kind: kind_name(kind),
                    })
                }
            }
        }
    }

    fn classify_rev_error(&self, rev: &str, err: gix::Error) -> GitError {
        let unborn = self.repo.head().map(|h| h.is_unborn()).unwrap_or(false);
        if unborn && self.has_no_refs() {
            return GitError::NoCommits;
        }
        if self.beyond_shallow_boundary(rev) {
            return GitError::Shallow {
                rev: rev.to_owned(),
            };
        }
        GitError::UnknownRevision {
            rev: rev.to_owned(),
            source: Some(Box::new(err)),
        }
    }

    /// In a shallow clone, whether `rev` may have failed for lack of history: it is a full object
    /// id (not present), or navigates (`~`, `^`) from a commit whose ancestry reaches the boundary.
    fn beyond_shallow_boundary(&self, rev: &str) -> bool {
        let shallow = match self.shallow_set() {
            Ok(set) if !set.is_empty() => set,
            _ => return false,
        };
        if ObjectId::from_hex(rev.as_bytes()).is_ok() {
            return true;
        }
        let Some(base) = rev.find(['~', '^']).map(|i| &rev[..i]) else {
            return false;
        };
        let base = if base.is_empty() { "HEAD" } else { base };
        let Ok(start) = self.resolve_id(base) else {
            return false;
        };
        let (mut seen, mut stack, mut buf) = (HashSet::new(), vec![start], Vec::new());
        while let Some(id) = stack.pop() {
            if shallow.contains(&id) {
                return true;
            }
            if seen.insert(id) {
                if let Ok(Some(obj)) = self.repo.objects.try_find(&id, &mut buf) {
                    stack.extend(
                        CommitRefIter::from_bytes(obj.data, self.repo.object_hash()).parent_ids(),
                    );
                }
            }
        }
        false
    }

    fn has_no_refs(&self) -> bool {
        let refs = self
            .repo
            .references()
            .and_then(|r| r.all().map(|mut i| i.next().is_none()));
        refs.unwrap_or_default()
    }

    /// Whether this is a shallow clone (`git clone --depth N`): history past its boundary is
    /// absent, so no walk here sees every commit.
    pub fn is_shallow(&self) -> bool {
        self.repo.is_shallow().unwrap_or(false)
    }

    pub(super) fn shallow_set(&self) -> Result<HashSet<ObjectId>> {
        Ok(self
            .repo
            .shallow_commits()?
            .map(|c| c.iter().copied().collect())
            .unwrap_or_default())
    }

    pub(super) fn missing(&self, rev: &str, id: ObjectId) -> GitError {
        if self.repo.is_shallow().unwrap_or(false) {
            GitError::Shallow {
                rev: rev.to_owned(),
            }
        } else {
            GitError::MissingObject {
                rev: rev.to_owned(),
                id: id.to_string(),
            }
        }
    }
}

pub(super) fn kind_name(kind: Kind) -> &'static str {
    match kind {
        Kind::Commit => "commit",
        Kind::Tree => "tree",
        Kind::Blob => "blob",
        Kind::Tag => "tag",
    }
}
