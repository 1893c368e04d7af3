//! How an error is explained to a person: its causes and the one hint.
//!
//! Errors nest (a git error inside cairn's, an I/O error inside both), and
//! each library error type knows its own hint ([`Hint`]). This is the one
//! place that walks a whole `source()` chain and asks each link by its
//! concrete type, so the error types themselves never depend on one
//! another for hints: `error.rs` knows nothing of git's.
//!
//! A message that already quotes its cause (`... is damaged: content hashes
//! to X`, where the cause is also the typed `source()`) would otherwise be
//! followed by that same text again; [`causes`] leaves such quoted causes
//! out, so the report says each thing once.

use std::error::Error as StdError;

use crate::error::{Error, Hint};
use crate::repo::git::GitError;

/// The errors of a chain, outermost first.
fn chain<'a>(
    top: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(top), |e: &&'a (dyn StdError + 'static)| (*e).source())
}

/// What to try next: the hint of the outermost error in the chain that has
/// one.
pub fn hint(top: &(dyn StdError + 'static)) -> Option<String> {
    chain(top).find_map(hint_of)
}

fn hint_of(e: &(dyn StdError + 'static)) -> Option<String> {
    if let Some(e) = e.downcast_ref::<Error>() {
        return Hint::hint(e);
    }
    if let Some(e) = e.downcast_ref::<GitError>() {
        return Hint::hint(e);
    }
    None
}

/// A stable snake_case name for what went wrong, for `--json` errors: the
/// variant of the outermost cairn error in the chain (`not_initialized`,
/// `data_not_on_remote`, `git_not_found`), else `other`.
pub fn kind(top: &(dyn StdError + 'static)) -> String {
    chain(top)
        .find_map(|e| {
            // The derived `Debug` of an enum starts with the variant's
            // name, which is the name the code gives the case.
            let debug = if let Some(e) = e.downcast_ref::<Error>() {
                if matches!(e, Error::Git(_)) {
                    // Its source, next in the chain, says which.
                    return None;
                }
                format!("{e:?}")
            } else if let Some(e) = e.downcast_ref::<GitError>() {
                format!("git_{e:?}")
            } else {
                return None;
            };
            Some(snake_case(
                debug
                    .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    .next()
                    .unwrap_or_default(),
            ))
        })
        .filter(|k| !k.is_empty())
        .unwrap_or_else(|| "other".to_string())
}

/// `NotInitialized` → `not_initialized`.
fn snake_case(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// The causes below `top`'s own message worth a line each: every error of
/// the chain after the first, except one whose text the error above it
/// already ends with.
pub fn causes(top: &(dyn StdError + 'static)) -> Vec<String> {
    let mut out = Vec::new();
    let mut above = top.to_string();
    for e in chain(top).skip(1) {
        let text = e.to_string();
        if text.is_empty() || !above.ends_with(&text) {
            out.push(text.clone());
        }
        above = text;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_git_error_inside_cairns_gives_its_own_hint() {
        let e = Error::from(GitError::NoCommits);
        assert_eq!(
            hint(&e).as_deref(),
            Some("commit something first (`git commit`)")
        );
        // Once, although cairn's error shows the git error's text.
        assert!(causes(&e).is_empty(), "{:?}", causes(&e));
    }

    #[test]
    fn the_hint_is_found_below_a_context_without_one() {
        let e = anyhow::Error::new(Error::NotInitialized { root: "/r".into() })
            .context("while opening the repository");
        let top: &(dyn StdError + 'static) = &*e;
        assert_eq!(
            hint(top).as_deref(),
            Some("run `cairn init` in the repository first")
        );
        assert_eq!(causes(top), ["cairn is not initialised in /r"]);
        assert_eq!(hint(&std::io::Error::other("plain")), None);
    }

    #[test]
    fn the_kind_is_the_outermost_cairn_variant_in_snake_case() {
        let e = anyhow::Error::new(Error::NotInitialized { root: "/r".into() })
            .context("while opening the repository");
        assert_eq!(kind(&*e), "not_initialized");
        assert_eq!(kind(&Error::from(GitError::NoCommits)), "git_no_commits");
        assert_eq!(kind(&std::io::Error::other("plain")), "other");
    }

    #[test]
    fn the_outermost_hint_wins() {
        let inner = std::io::Error::other(Error::NotInitialized { root: "/r".into() });
        let e = Error::io("read", "/x", inner);
        assert!(hint(&e).unwrap().contains("accessible"), "{:?}", hint(&e));
    }

    #[test]
    fn only_causes_the_message_above_already_quotes_are_left_out() {
        #[derive(Debug, thiserror::Error)]
        #[error("outer: {0}")]
        struct Quoting(#[source] std::io::Error);
        let quoted = Quoting(std::io::Error::other("disk on fire"));
        assert!(causes(&quoted).is_empty());

        let plain = Error::io("read", "/x", std::io::Error::other("disk on fire"));
        assert_eq!(causes(&plain), ["disk on fire"]);
    }
}
