//! Pieces of error messages that are more than a format string: lists
//! that stay short, counts with their nouns, an optional pack name.
//!
//! They keep [`super::Error`]'s `#[error(...)]` attributes to one line each
//! and make the same phrase read the same in every message.

use std::path::{Path, PathBuf};

/// ` in pack <file>` when the pack is known, else nothing.
pub(super) fn in_pack(pack: Option<&Path>) -> String {
    pack.map(|p| format!(" in pack {}", p.display()))
        .unwrap_or_default()
}

pub(super) fn plural(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

/// The first few items of a list, then how many more.
pub(super) fn list(items: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut s = items
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if items.len() > SHOWN {
        s.push_str(&format!(" and {} more", items.len() - SHOWN));
    }
    s
}

/// The message of [`Error::VerifyFailed`]: each kind of problem by name.
pub(super) fn verify_failed(damaged: usize, missing: usize, malformed: &[PathBuf]) -> String {
    let mut parts = Vec::new();
    if damaged + missing > 0 {
        parts.push(format!(
            "{} damaged or missing object(s) in the cache",
            damaged + missing
        ));
    }
    if !malformed.is_empty() {
        let names: Vec<String> = malformed.iter().map(|p| p.display().to_string()).collect();
        parts.push(format!("malformed pointer file(s): {}", names.join(", ")));
    }
    parts.join("; ")
}
