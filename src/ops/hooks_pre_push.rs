//! The pre-push hook's work (`cairn hook pre-push`): the data of every
//! commit a `git push` sends goes to cairn's remote first, so no clone
//! fetches pointers whose data is not there.

use std::collections::HashSet;

use crate::error::{Error, Result};
use crate::progress::Progress;
use crate::repo::history::{pointers_at, Tracked};

use crate::ops::fetch::Selected;
use crate::ops::push::{push_selected, PushReport};
use crate::ops::{Session, Waits};

/// Before git pushes (`cairn hook pre-push`): send the data of every
/// commit being pushed to cairn's default remote, so nobody can fetch
/// pointers whose data is not there; an error stops the git push.
/// `refs` are the lines git gave the hook on stdin (`<local ref> <local
/// sha> <remote ref> <remote sha>`), `git_remote` the remote's name (or
/// URL) git gave as its first argument. Every commit a ref brings that the
/// git remote lacks counts, not only the tip; only the tips' data must be
/// sendable, an earlier commit's that neither side has is reported (a first
/// push of old history to a new git remote is not blocked by it). `None`:
/// nothing to do (no cairn remote, or only deleted refs).
pub fn pre_push(
    s: &Session,
    refs: &[String],
    git_remote: Option<&str>,
    progress: &dyn Progress,
    waits: Waits,
) -> Result<Option<PushReport>> {
    let git = s.require_git()?;
    match s.remote(None) {
        Err(Error::NoRemote) => return Ok(None),
        Err(e) => return Err(e),
        Ok(_) => {}
    }
    // What the git remote already has: its remote-tracking refs (a URL
    // has none), plus each ref's old value below.
    let tracking = match git_remote {
        Some(name) if !name.contains(['/', ':']) => {
            git.refs_under(&format!("refs/remotes/{name}/"))?
        }
        _ => Vec::new(),
    };
    // Tips first, so a tip's pointer is required even if another ref's
    // earlier commits hold it too.
    let pushed: Vec<(&str, &str)> = refs
        .iter()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            Some((words.nth(1)?, words.nth(1)?))
        })
        // A deleted ref pushes no data.
        .filter(|(sha, _)| !sha.bytes().all(|b| b == b'0'))
        .collect();
    let mut selected: Selected = Vec::new();
    let mut seen = HashSet::new();
    for (sha, _) in &pushed {
        for (rel, ptr) in pointers_at(git, sha)? {
            if seen.insert((rel.clone(), ptr.encode())) {
                selected.push((rel, ptr, None));
            }
        }
    }
    let mut earlier: Vec<(String, Tracked)> = Vec::new();
    for (sha, old) in &pushed {
        let mut hidden = tracking.clone();
        if !old.bytes().all(|b| b == b'0') {
            hidden.push(old.to_string());
        }
        for commit in git.commits_not_in(sha, &hidden)? {
            let short = commit.get(..12).unwrap_or(&commit).to_string();
            for (rel, ptr) in pointers_at(git, &commit)? {
                if seen.insert((rel.clone(), ptr.encode())) {
                    earlier.push((short.clone(), (rel, ptr)));
                }
            }
        }
    }
    if selected.is_empty() && earlier.is_empty() {
        return Ok(None);
    }
    push_selected(s, &selected, &earlier, None, progress, waits).map(Some)
}
