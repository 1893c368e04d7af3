//! The one `.gitattributes` line cairn writes: `.gitignore merge=union`.
//!
//! `add` appends a line to a `.gitignore` for each path it starts to track,
//! so two branches that each track a new path in the same directory both
//! append at the end of the same file, and git stops the merge with a
//! conflict in a file nobody edited by hand. With git's built-in `union`
//! merge driver, git keeps the lines of both sides instead, which is what
//! an ignore list needs: a line either side added is a path one of them
//! tracks. `init` writes the line to the work tree root's `.gitattributes`
//! (the pattern has no slash, so it covers every `.gitignore` below the
//! root) unless that file already says how `.gitignore` files merge, which
//! is then the user's choice and left alone.

use std::fs;
use std::path::Path;

use crate::durable::append_line;
use crate::error::Result;

/// The file, relative to the work tree root.
pub const FILE: &str = ".gitattributes";

/// The line `init` writes.
pub const UNION_LINE: &str = ".gitignore merge=union";

/// Whether one `.gitattributes` line sets or unsets the merge driver of
/// `.gitignore` files (`merge=…`, `merge`, `-merge` or `!merge` after a
/// pattern naming them).
fn sets_gitignore_merge(line: &str) -> bool {
    let mut words = line.split_whitespace();
    let Some(pattern) = words.next() else {
        return false;
    };
    let names_gitignore = matches!(
        pattern.trim_start_matches('/'),
        ".gitignore" | "**/.gitignore"
    );
    names_gitignore
        && words.any(|a| {
            let a = a.trim_start_matches(['-', '!']);
            a == "merge" || a.starts_with("merge=")
        })
}

/// Whether the root `.gitattributes` of the work tree at `root` says how
/// `.gitignore` files merge (the line [`ensure_union_merge`] writes, or the
/// user's own rule). An unreadable file counts as saying nothing.
pub fn has_merge_rule(root: &Path) -> bool {
    fs::read_to_string(root.join(FILE)).is_ok_and(|s| s.lines().any(sets_gitignore_merge))
}

/// Whether the root `.gitattributes` of the work tree at `root` holds the
/// line [`ensure_union_merge`] writes.
pub fn has_union_line(root: &Path) -> bool {
    fs::read_to_string(root.join(FILE)).is_ok_and(|s| s.lines().any(|l| l == UNION_LINE))
}

/// Make sure the root `.gitattributes` of the work tree at `root` tells
/// git how `.gitignore` files merge. Returns whether the file was written
/// (false: it already said so). Other lines, the file's line endings and
/// its mode are kept; the file is replaced atomically.
pub fn ensure_union_merge(root: &Path) -> Result<bool> {
    append_line(&root.join(FILE), UNION_LINE, sets_gitignore_merge)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_added_once_and_other_lines_stay() {
        let d = tempfile::tempdir().unwrap();
        let f = d.path().join(FILE);
        fs::write(&f, "*.bin binary").unwrap();
        assert!(ensure_union_merge(d.path()).unwrap());
        assert!(!ensure_union_merge(d.path()).unwrap());
        assert_eq!(
            fs::read_to_string(&f).unwrap(),
            "*.bin binary\n.gitignore merge=union\n"
        );
    }

    #[test]
    fn a_users_own_merge_rule_for_gitignore_is_left_alone() {
        for own in [
            ".gitignore merge=ours",
            "/.gitignore -merge",
            "**/.gitignore text merge=union",
        ] {
            let d = tempfile::tempdir().unwrap();
            fs::write(d.path().join(FILE), format!("{own}\n")).unwrap();
            assert!(!ensure_union_merge(d.path()).unwrap(), "{own}");
        }
        // A rule for other files, or another attribute, does not count.
        assert!(!sets_gitignore_merge("*.csv merge=union"));
        assert!(!sets_gitignore_merge(".gitignore text"));
        assert!(!sets_gitignore_merge("# .gitignore merge=union"));
    }
}
