//! Which outputs the words of `cairn import dvc PATH…` (outputs or `.dvc`
//! files) and `cairn import lfs PATTERN…` (gitignore patterns) select.

use std::path::Path;

use super::{lfs, ImportOptions, Tool};
use crate::error::Result;
use crate::repo::foreign::ForeignOut;

/// Which outputs the command's words select.
pub(super) struct Selector {
    pub(super) tool: Tool,
    words: Vec<String>,
    lfs: Box<dyn Fn(&str) -> bool>,
}

impl Selector {
    pub(super) fn new(root: &Path, opts: &ImportOptions) -> Result<Selector> {
        let lfs: Box<dyn Fn(&str) -> bool> = match opts.tool {
            Tool::Lfs => Box::new(lfs::selector(root, &opts.paths)?),
            Tool::Dvc => Box::new(|_: &str| true),
        };
        Ok(Selector {
            tool: opts.tool,
            words: opts.paths.clone(),
            lfs,
        })
    }

    fn under(a: &str, b: &str) -> bool {
        a == b || a.starts_with(&format!("{b}/"))
    }

    /// Whether a foreign file (a `.dvc` file, an LFS pointer) is selected.
    pub(super) fn file(&self, path: &str) -> bool {
        match self.tool {
            Tool::Lfs => (self.lfs)(path),
            Tool::Dvc => {
                self.words.is_empty()
                    || self.words.iter().any(|w| {
                        Self::under(path, w)
                            || path.strip_suffix(".dvc").is_some_and(|d| Self::under(w, d))
                    })
            }
        }
    }

    pub(super) fn out(&self, o: &ForeignOut) -> bool {
        match self.tool {
            Tool::Lfs => (self.lfs)(&o.path),
            Tool::Dvc => {
                self.words.is_empty()
                    || self
                        .words
                        .iter()
                        .any(|w| Self::under(&o.path, w) || Self::under(w, &o.path) || *w == o.from)
            }
        }
    }
}
