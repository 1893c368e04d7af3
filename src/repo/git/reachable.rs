//! Every pointer blob any ref, reflog or work tree can reach: the roots
//! `cairn gc` must keep, the same ones `git gc` keeps.
//!
//! The walk reads each commit, tree and blob at most once, tolerates
//! reflog entries that name pruned objects, stops at a shallow clone's
//! boundary, and never reads the index. Also the commits a `git push`
//! sends, whose data the pre-push hook must send first.

use std::collections::HashSet;

use gix::objs::tree::EntryKind;
use gix::objs::{CommitRefIter, Find, Kind, TagRefIter, TreeRefIter};
use gix::ObjectId;

use super::{is_pointer_name, GitError, GitRepo, Result, CAIRN_DIR};

impl GitRepo {
    /// The distinct contents of every pointer blob in every commit reachable from any ref
    /// (branches, tags, remotes, `refs/stash`, notes …), from `HEAD` of the main and all linked
    /// work trees, and from every entry of their reflogs (both old and new ids), like the
    /// roots `git gc` keeps. The stash's index/untracked commits are parents of its commits and
    /// are walked too. Each commit, tree and blob is read at most once. The index is not read.
    pub fn reachable_pointer_blobs(&self) -> Result<Vec<Vec<u8>>> {
        const CTX: &str = "reachable history";
        let hash = self.repo.object_hash();
        // (object, may be absent): reflog entries may name objects that were pruned.
        let mut stack: Vec<(ObjectId, bool)> = Vec::new();
        let add_reflog = |stack: &mut Vec<(ObjectId, bool)>,
                          mut log: gix::refs::file::log::iter::Platform<'_, '_>|
         -> Result<()> {
            if let Some(lines) = log.all()? {
                for line in lines {
                    let line = line.map_err(|e| GitError::Io(std::io::Error::other(e)))?;
                    for id in [line.previous_oid(), line.new_oid()] {
                        if !id.is_null() {
                            stack.push((id, true));
                        }
                    }
                }
            }
            Ok(())
        };
        for reference in self.repo.references()?.all()? {
            let reference = reference?;
            if let Some(id) = reference.target().try_id() {
                stack.push((id.to_owned(), false));
            }
            add_reflog(&mut stack, reference.log_iter())?;
        }
        let add_head = |stack: &mut Vec<(ObjectId, bool)>, head: gix::Head<'_>| -> Result<()> {
            if let Some(id) = head.id() {
                stack.push((id.detach(), false));
            }
            add_reflog(stack, head.log_iter())
        };
        add_head(&mut stack, self.repo.head()?)?;
        for worktree in self.repo.worktrees()? {
            let repo = worktree.into_repo_with_possibly_inaccessible_worktree()?;
            add_head(&mut stack, repo.head()?)?;
        }

        let shallow = self.shallow_set()?;
        let (mut commits, mut trees, mut blobs) = (HashSet::new(), HashSet::new(), HashSet::new());
        let mut tree_stack = Vec::new();
        let mut out = Vec::new();
        let mut buf = Vec::new();
        while let Some((id, may_be_absent)) = stack.pop() {
            if commits.contains(&id) || trees.contains(&id) {
                continue;
            }
            let Some(obj) = self.repo.objects.try_find(&id, &mut buf)? else {
                if may_be_absent {
                    continue;
                }
                return Err(self.missing(CTX, id));
            };
            match obj.kind {
                Kind::Commit => {
                    commits.insert(id);
                    let mut iter = CommitRefIter::from_bytes(obj.data, hash);
                    tree_stack.push(iter.tree_id()?);
                    if !shallow.contains(&id) {
                        stack.extend(iter.parent_ids().map(|p| (p, false)));
                    }
                }
                Kind::Tag => {
                    stack.push((TagRefIter::from_bytes(obj.data, hash).target_id()?, false))
                }
                Kind::Tree => tree_stack.push(id),
                Kind::Blob => {}
            }
            while let Some(tree) = tree_stack.pop() {
                if !trees.insert(tree) {
                    continue;
                }
                let data = self.find(tree, Kind::Tree, CTX, &mut buf)?;
                for entry in TreeRefIter::from_bytes(data, hash) {
                    let entry = entry?;
                    match entry.mode.kind() {
                        EntryKind::Tree if entry.filename != CAIRN_DIR => {
                            tree_stack.push(entry.oid.to_owned());
                        }
                        EntryKind::Blob | EntryKind::BlobExecutable
                            if is_pointer_name(entry.filename) =>
                        {
                            blobs.insert(entry.oid.to_owned());
                        }
                        _ => {}
                    }
                }
            }
        }
        let mut blobs: Vec<_> = blobs.into_iter().collect();
        blobs.sort();
        for id in blobs {
            out.push(self.blob(id, CTX)?);
        }
        Ok(out)
    }
}

impl GitRepo {
    /// The commits `tip` reaches that none of `hidden` reaches, as full hex ids: what `git
    /// rev-list TIP --not HIDDEN…` lists, so what a `git push` of `tip` sends to a remote whose
    /// refs are `hidden`. A hidden name this clone cannot resolve (a commit the remote has but
    /// this clone never fetched) is skipped, which only widens the answer. The walk stops at a
    /// shallow clone's boundary.
    pub fn commits_not_in(&self, tip: &str, hidden: &[String]) -> Result<Vec<String>> {
        let tip = self.resolve_id(tip)?;
        let hidden: Vec<ObjectId> = hidden
            .iter()
            .filter_map(|h| self.resolve_id(h).ok())
            .collect();
        let mut out = Vec::new();
        for info in self.repo.rev_walk([tip]).with_hidden(hidden).all()? {
            out.push(info?.id.to_hex().to_string());
        }
        Ok(out)
    }
}
