//! Argument groups that several verbs share, defined once so their flags,
//! value names and types cannot drift apart.
//!
//! A verb flattens a group into its own arguments (`#[command(flatten)]`).
//! Where the words mean something different per verb (what `REV|PATH`
//! selects, what the remote is used for), the verb gives the help text
//! itself with `#[command(mut_args(help(ID, "…")))]`, by the ids below.

use clap::{Arg, Args};

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
    #[arg(id = REV_PATHS, value_name = "REV|PATH")]
    pub words: Vec<String>,
}

/// `-r/--remote NAME|URL`: the remote a transfer uses.
#[derive(Debug, Clone, Args)]
pub struct Remote {
    #[arg(id = REMOTE, short, long, value_name = "NAME|URL")]
    pub remote: Option<String>,
}

/// `--json`: the report as JSON on stdout instead of text.
#[derive(Debug, Clone, Args)]
pub struct Format {
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
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
