//! Argument groups that several verbs share, defined once so their flags,
//! value names and types cannot drift apart.
//!
//! A verb flattens a group into its own arguments (`#[command(flatten)]`).
//! Where the words mean something different per verb (what `REV|PATH`
//! selects, what the remote is used for), the verb gives the help text
//! itself with `#[command(mut_args(help(ID, "…")))]`, by the ids below.

use clap::{Arg, Args};
use clap_complete::engine::ArgValueCandidates;

/// The id of [`RevPaths`]'s words, for [`help`].
pub const REV_PATHS: &str = "args";
/// The id of [`Remote`]'s flag, for [`help`].
pub const REMOTE: &str = "remote";

/// For `Command::mut_args`: give the argument `id` its help `text`. (Unlike
/// `mut_arg`, this keeps every argument in its place, which completion
/// scripts list them in.)
pub fn help(id: &'static str, text: &'static str) -> impl FnMut(Arg) -> Arg {
    move |a| {
        if a.get_id() == id {
            a.help(text)
        } else {
            a
        }
    }
}

/// `[REV] [PATH…]`: a git revision and/or tracked paths, as typed; read
/// with `ops::select`.
#[derive(Debug, Clone, Args)]
pub struct RevPaths {
    #[arg(
        id = REV_PATHS,
        value_name = "REV|PATH",
        add = ArgValueCandidates::new(super::complete::revisions_and_paths)
    )]
    pub words: Vec<String>,
}

/// `-r/--remote NAME|URL`: the remote a transfer uses.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    #[arg(
        id = REMOTE,
        short,
        long,
        value_name = "NAME|URL",
        add = ArgValueCandidates::new(super::complete::remotes)
    )]
    pub remote: Option<String>,
}

/// `-j/--jobs N`: requests a transfer keeps in flight at once.
#[derive(Debug, Clone, Args)]
pub struct Jobs {
    /// Requests to keep in flight at once, 1 to 64 (default:
    /// `transfer.jobs` from the config, else 4 uploads and 8 downloads).
    /// Each holds up to 16 MiB in memory.
    #[arg(short, long, value_name = "N",
          value_parser = clap::value_parser!(u16).range(1..=crate::transfer::MAX_JOBS as i64))]
    pub jobs: Option<u16>,
}

impl Jobs {
    /// The count, for `Session::set_jobs`.
    pub fn get(&self) -> Option<usize> {
        self.jobs.map(usize::from)
    }
}

/// `--json`: the report as JSON on stdout instead of text.
#[derive(Debug, Clone, Args)]
pub struct Format {
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

/// `--exit-code`: say through the exit code whether anything differs.
#[derive(Debug, Clone, Args)]
pub struct ExitCodeFlag {
    /// Exit with 3 when something differs, 0 when nothing does (errors
    /// still exit 1, usage errors 2), as `git diff --exit-code` but with a
    /// code of its own, so a script can tell a difference from a failure.
    #[arg(long)]
    pub exit_code: bool,
}

/// The exit code of `--exit-code` when something differs. Distinct from
/// errors (1) and usage errors (2); see the README's "Exit codes".
pub const DIFFERS: u8 = 3;

impl ExitCodeFlag {
    /// The exit code for a successful run that found `differs`.
    pub fn code(&self, differs: bool) -> std::process::ExitCode {
        if self.exit_code && differs {
            std::process::ExitCode::from(DIFFERS)
        } else {
            std::process::ExitCode::SUCCESS
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::{Arg, Command};

    use super::*;

    /// `help` gives the one argument its text and leaves every argument
    /// where it was (completion scripts list them in that order).
    #[test]
    fn help_keeps_arguments_in_place() {
        let cmd = Command::new("x")
            .arg(Arg::new("first").long("first"))
            .arg(Arg::new(REMOTE).long("remote"))
            .arg(Arg::new("last").long("last"))
            .mut_args(help(REMOTE, "where to"));
        let args: Vec<(String, Option<String>)> = cmd
            .get_arguments()
            .map(|a| (a.get_id().to_string(), a.get_help().map(|h| h.to_string())))
            .collect();
        assert_eq!(
            args,
            [
                ("first".to_string(), None),
                (REMOTE.to_string(), Some("where to".to_string())),
                ("last".to_string(), None),
            ]
        );
    }
}
