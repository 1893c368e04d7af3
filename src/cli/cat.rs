//! `cairn cat [REV:]PATH`: one file's bytes on stdout (`ops::cat`), like
//! `git show REV:path`. stdout carries only the file; messages, and the
//! report with `--json`, go to stderr.

use std::io::Write;
use std::path::Path;
use std::process::ExitCode;

use clap::Args;

use super::args::{help, Remote, REMOTE};
use super::session::open_session;
use super::ui::Ui;
use crate::ops::cat::{cat, CatOptions};

/// `--help` for `-r/--remote`.
const REMOTE_HELP: &str = "The remote to fetch missing chunks from: a name or a URL (default: \
    the configured default remote)";

#[derive(Debug, Args)]
#[command(mut_args(help(REMOTE, REMOTE_HELP)))]
pub struct CatArgs {
    /// The file: `REV:PATH` (PATH from the repository root, as in `git show`)
    /// or a PATH in the work tree's pointers (relative to here); a tracked
    /// file or a file inside a tracked directory.
    #[arg(value_name = "[REV:]PATH")]
    pub file: String,
    #[command(flatten)]
    pub remote: Remote,
    /// Print what was done as JSON, on stderr (stdout carries the file);
    /// an error too.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: CatArgs) -> anyhow::Result<ExitCode> {
    if args.json {
        super::ui::json_on_stderr();
    }
    let session = open_session(ui, cwd)?;
    let (rev, path) = match args.file.split_once(':') {
        Some((rev, path)) if !rev.is_empty() => (Some(rev.to_string()), path.to_string()),
        _ => (
            None,
            crate::ops::select::path(&session, cwd, Path::new(&args.file))?,
        ),
    };
    let opts = CatOptions {
        rev,
        path,
        remote: args.remote.remote,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::with_capacity(256 << 10, stdout.lock());
    let report = match cat(&session, opts, &mut out, &ui.progress(), Some(ui.waits())) {
        Ok(r) => r,
        Err(e) => {
            // Drop what is still buffered rather than flush it: a failed
            // cat should leave as little of a wrong file behind as it can.
            let _ = out.into_parts();
            return Err(e.into());
        }
    };
    out.flush()?;
    if args.json {
        super::ui::print_json(&report)?;
    }
    Ok(ExitCode::SUCCESS)
}
