//! Dynamic shell completion: the names only the repository knows (its
//! remotes, revisions and tracked paths), offered while the user types.
//!
//! The shell calls `cairn` itself with `COMPLETE=<shell>` (registered with
//! `source <(COMPLETE=bash cairn)`, or `zsh`, `fish`, …); clap_complete
//! answers from the same argument definitions as the static scripts, and
//! these functions add the candidates. They read the repository the shell is
//! in and never write: any failure just offers nothing.

use std::path::Path;

use clap_complete::engine::CompletionCandidate;

use crate::ops::Session;

fn session() -> Option<Session> {
    Session::open(&std::env::current_dir().ok()?).ok()
}

/// The remotes of every config layer.
pub(crate) fn remotes() -> Vec<CompletionCandidate> {
    let Some(s) = session() else {
        return Vec::new();
    };
    let mut names: Vec<String> = s.remotes().into_iter().map(|r| r.name).collect();
    names.sort();
    names.dedup();
    names.into_iter().map(CompletionCandidate::new).collect()
}

/// `HEAD`, branches and tags, then tracked paths (relative to where the
/// shell is).
pub(crate) fn revisions_and_paths() -> Vec<CompletionCandidate> {
    let Some(s) = session() else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(git) = s.git() {
        if git.resolve("HEAD").is_ok() {
            out.push(CompletionCandidate::new("HEAD").help(Some("the current commit".into())));
        }
        for (prefix, what) in [("refs/heads/", "branch"), ("refs/tags/", "tag")] {
            for r in git.refs_under(prefix).unwrap_or_default() {
                let name = r.trim_start_matches(prefix).to_string();
                out.push(CompletionCandidate::new(name).help(Some(what.into())));
            }
        }
    }
    let ws = s.workspace();
    let here = std::env::current_dir().unwrap_or_default();
    let under = here.strip_prefix(ws.root()).unwrap_or(Path::new(""));
    for rel in ws.find_tracked().unwrap_or_default() {
        let shown = match Path::new(&rel).strip_prefix(under) {
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(_) => continue,
        };
        out.push(CompletionCandidate::new(shown).help(Some("tracked".into())));
    }
    out
}
