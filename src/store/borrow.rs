//! Borrowing another cache's packs by hard link: how a linked git worktree
//! (`git worktree add`) sees the data its main worktree already holds,
//! without a remote and without a second copy.
//!
//! Packs are immutable and named by their content (FORMAT.md §6.6), so a
//! second name for the same file is as good as the first: a link is made
//! only where this cache lacks that name, each pack's sum first (as a
//! sealed pack is published, §6.8), and nothing is ever written through
//! it. Each cache stays its own: `gc` in either removes only its own
//! names, and the data lives on while the other still links it. Linking
//! is only a convenience: a failure (another file system, no permission)
//! leaves this cache as it was, and every blob read through a borrowed
//! pack is checked exactly like one of its own.

use std::fs;
use std::path::Path;

use super::packsum::sum_path;
use super::{pack_dir, pack_paths};

/// Link into cache `to` every pack (with its sum) of cache `from` that `to`
/// lacks; how many packs were linked. Stops quietly at the first link the
/// file system refuses, since the next would be refused too.
pub fn link_packs(from: &Path, to: &Path) -> usize {
    let Ok(theirs) = pack_paths(from, false) else {
        return 0;
    };
    let mut linked = 0;
    for pack in theirs {
        let (Some(sub), Some(name)) = (pack.parent().and_then(Path::file_name), pack.file_name())
        else {
            continue;
        };
        let dir = pack_dir(to).join(sub);
        let dest = dir.join(name);
        if dest.exists() {
            continue;
        }
        if fs::create_dir_all(&dir).is_err() {
            return linked;
        }
        let sum = sum_path(&pack);
        if sum.exists() {
            let _ = fs::hard_link(&sum, sum_path(&dest));
        }
        match fs::hard_link(&pack, &dest) {
            Ok(()) => linked += 1,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(_) => return linked,
        }
    }
    linked
}
