//! The command line: argument definitions and dispatch, one file per verb.
//!
//! This is the only layer that prints, and the only one that adds `anyhow`
//! context to library errors. stdout carries data (listings, JSON); stderr
//! carries messages, warnings and progress bars.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory, Parser, Subcommand};

mod add;
mod args;
mod cat;
pub(crate) mod checkout;
mod complete;
mod completions;
mod config;
mod diff;
mod doctor;
mod du;
mod fetch;
mod gc;
mod get;
mod hooks;
mod hooks_global;
mod import;
mod init;
mod log;
mod ls;
mod mv;
mod pull;
mod push;
mod remote;
mod rm;
mod session;
mod status;
pub mod ui;
mod verify;

/// A flag's value that the argument parser cannot check without echoing a
/// secret (a URL with credentials): reported like any error, with the
/// library's redacted message and hint, but it exits 2, as usage errors do.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BadFlagValue(#[source] pub crate::Error);

/// Version large datasets and model files next to git.
#[derive(Debug, Parser)]
#[command(name = "cairn", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Args)]
pub struct Global {
    /// Run as if cairn was started in DIR.
    #[arg(short = 'C', global = true, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Print only errors.
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    /// Print more detail.
    #[arg(short, long, global = true)]
    pub verbose: bool,
    /// Draw no progress bars (messages stay; `-q` silences both).
    #[arg(long, global = true)]
    pub no_progress: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Set up .cairn/ in the current git work tree.
    Init(init::InitArgs),
    /// Chunk and store files or directories, and write their pointer files.
    Add(add::AddArgs),
    /// Stop tracking paths: remove their pointers and .gitignore lines
    /// (the data stays unless --delete-data).
    Rm(rm::RmArgs),
    /// Move or rename a tracked path: its data, pointer and .gitignore line.
    Mv(mv::MvArgs),
    /// Show tracked data that is modified, missing or not in the cache.
    Status(status::StatusArgs),
    /// Make the work tree's data (and pointers) match REV, or the pointer files.
    Checkout(checkout::CheckoutArgs),
    /// Re-hash every object in the cache and report damage.
    Verify(verify::VerifyArgs),
    /// List tracked data at a revision (or in the work tree).
    Ls(ls::LsArgs),
    /// Write one tracked file of any revision to stdout, fetching only its chunks.
    Cat(cat::CatArgs),
    /// Show the commits where a tracked path changed.
    Log(log::LogArgs),
    /// Show tracked data that changed between two revisions.
    Diff(diff::DiffArgs),
    /// Show what tracked data costs: logical, unique, cached and remote bytes.
    Du(du::DuArgs),
    /// Drop cached data that no ref, tag, reflog, stash or pointer reaches.
    Gc(gc::GcArgs),
    /// Send the data the pointers name to a remote (only what it lacks).
    Push(push::PushArgs),
    /// Download the data the pointers need into the cache.
    Fetch(fetch::FetchArgs),
    /// Fetch, then check out: restore the data of the work tree or REV.
    Pull(pull::PullArgs),
    /// Get a dataset or model from another git repository and its remote,
    /// without cloning it.
    Get(get::GetArgs),
    /// Add, list or remove remotes (kept in the committed .cairn/config.toml).
    Remote(remote::RemoteArgs),
    /// Move data from DVC or Git LFS to cairn, keeping old revisions restorable.
    Import(import::ImportArgs),
    /// Get, set, unset or list configuration keys, and where each comes from.
    Config(config::ConfigArgs),
    /// Check the configuration, remotes, cache and hooks, and say what is wrong.
    Doctor(doctor::DoctorArgs),
    /// Install git hooks so data follows git checkout and merge.
    InstallHooks(hooks::InstallHooksArgs),
    /// Run by the installed git hooks.
    #[command(hide = true)]
    Hook(hooks::HookArgs),
    /// Print a shell completion script.
    Completions(completions::CompletionsArgs),
    /// Print a manual page (roff): the overview, or one command's.
    Man(completions::ManArgs),
}

impl Cli {
    pub fn parse_from_env() -> Cli {
        Cli::parse()
    }

    /// The command line, or the usage error it makes.
    pub fn try_parse_from_env() -> Result<Cli, clap::Error> {
        Cli::try_parse()
    }

    pub fn command() -> clap::Command {
        <Cli as CommandFactory>::command()
    }
}

/// Whether the command line asks for `--json` (before a `--`), read from
/// the raw words so that an error is JSON too, even one in the arguments.
pub fn json_requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> bool {
    args.into_iter()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// The subcommand named on the raw command line: the first word that is
/// not an option, skipping `-C DIR` (the one global option with a value).
/// Lets an error in the arguments go where that command's JSON goes.
pub fn verb_requested(args: impl IntoIterator<Item = std::ffi::OsString>) -> Option<String> {
    let mut words = args.into_iter().skip(1);
    while let Some(w) = words.next() {
        if w == "--" {
            return None;
        }
        if w == "-C" {
            words.next();
            continue;
        }
        let text = w.to_string_lossy();
        if !text.starts_with('-') {
            return Some(text.into_owned());
        }
    }
    None
}

/// Run a parsed command line.
pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let ui = ui::Ui::new(&cli.global);
    let cwd = match &cli.global.dir {
        Some(d) => d.clone(),
        None => std::env::current_dir()?,
    };
    match cli.command {
        Command::Init(a) => init::run(&ui, &cwd, a),
        Command::Add(a) => add::run(&ui, &cwd, a),
        Command::Rm(a) => rm::run(&ui, &cwd, a),
        Command::Mv(a) => mv::run(&ui, &cwd, a),
        Command::Status(a) => status::run(&ui, &cwd, a),
        Command::Checkout(a) => checkout::run(&ui, &cwd, a),
        Command::Verify(a) => verify::run(&ui, &cwd, a),
        Command::Ls(a) => ls::run(&ui, &cwd, a),
        Command::Cat(a) => cat::run(&ui, &cwd, a),
        Command::Log(a) => log::run(&ui, &cwd, a),
        Command::Diff(a) => diff::run(&ui, &cwd, a),
        Command::Du(a) => du::run(&ui, &cwd, a),
        Command::Gc(a) => gc::run(&ui, &cwd, a),
        Command::Push(a) => push::run(&ui, &cwd, a),
        Command::Import(a) => import::run(&ui, &cwd, a),
        Command::Fetch(a) => fetch::run(&ui, &cwd, a),
        Command::Pull(a) => pull::run(&ui, &cwd, a),
        Command::Get(a) => get::run(&ui, &cwd, a),
        Command::Remote(a) => remote::run(&ui, &cwd, a),
        Command::Config(a) => config::run(&ui, &cwd, a),
        Command::Doctor(a) => doctor::run(&ui, &cwd, a),
        Command::InstallHooks(a) if a.global => {
            session::warn_if_in_repository(&ui, &cwd);
            hooks_global::install(&ui, a)
        }
        Command::InstallHooks(a) => hooks::install(&ui, &cwd, a),
        Command::Hook(a) => hooks::run_hook(&ui, &cwd, a),
        Command::Completions(a) => completions::run(a),
        Command::Man(a) => completions::man(a),
    }
}
