//! `cairn config [--local|--user] KEY [VALUE]`, `--list [--show-origin]`
//! and `--unset KEY`: parse, call `ops::config`, render.
//!
//! Reading works outside a repository too (the user file and the
//! environment); so does writing with `--user`. Anything else needs the
//! repository, whose session is opened (and its config warnings said) once.

use std::path::Path;
use std::process::ExitCode;

use clap::{ArgGroup, Args};

use super::args::Format;
use super::session::open_session;
use super::ui::Ui;
use crate::ops::config::{self, EditReport};
use crate::ops::Session;
use crate::repo::config_edit::{Entry, Files, Scope};
use crate::repo::workspace::find_git_root;

#[derive(Debug, Args)]
#[command(group(ArgGroup::new("what").required(true).args(["key", "list", "unset"])))]
pub struct ConfigArgs {
    /// The key, such as `gc.grace` or `remote.origin.endpoint`
    /// (docs/FORMAT.md §8.1 lists them all).
    pub key: Option<String>,
    /// Set KEY to this value (checked against the key's type first).
    pub value: Option<String>,
    /// Use the uncommitted .cairn/config.local.toml (this clone only).
    #[arg(long, conflicts_with = "user")]
    pub local: bool,
    /// Use the user file ($XDG_CONFIG_HOME/cairn/config.toml).
    #[arg(long)]
    pub user: bool,
    /// List the effective configuration (or one file's, with --local or
    /// --user).
    #[arg(short, long, conflicts_with_all = ["key", "unset"])]
    pub list: bool,
    /// Say which file (or environment variable) each value comes from.
    #[arg(long)]
    pub show_origin: bool,
    /// Remove KEY from the file (the committed one unless --local or
    /// --user).
    #[arg(long, value_name = "KEY", conflicts_with = "key")]
    pub unset: Option<String>,
    #[command(flatten)]
    pub format: Format,
}

pub fn run(ui: &Ui, cwd: &Path, args: ConfigArgs) -> anyhow::Result<ExitCode> {
    let scope = if args.local {
        Some(Scope::Local)
    } else if args.user {
        Some(Scope::User)
    } else {
        None
    };
    let reading = args.value.is_none() && args.unset.is_none();
    let (session, files) = open(ui, cwd, args.user || (reading && !args.local))?;
    if session.is_none() {
        // No session said the user file's warnings: say them here.
        for u in files.unknown_keys()? {
            ui.warn(u);
        }
    }
    let json = args.format.json;
    if args.list {
        let report = config::list(&files, scope)?;
        if json {
            super::ui::print_json(&report)?;
        } else {
            for e in &report.entries {
                println!("{}", line(e, args.show_origin, true));
            }
        }
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(key) = &args.unset {
        let scope = scope.unwrap_or(Scope::Committed);
        let report = config::unset(session.as_ref(), &files, key, scope)?;
        return edited(ui, &report, json);
    }
    let Some(key) = &args.key else {
        return Ok(ExitCode::from(2));
    };
    if let Some(value) = &args.value {
        let scope = scope.unwrap_or(Scope::Committed);
        let report = config::set(session.as_ref(), &files, key, value, scope)?;
        return edited(ui, &report, json);
    }
    let report = config::get(&files, key, scope)?;
    if json {
        super::ui::print_json(&report)?;
    }
    match (report.value, report.origin) {
        (Some(value), Some(origin)) => {
            if !json {
                let e = Entry {
                    key: report.key,
                    value,
                    origin,
                };
                println!("{}", line(&e, args.show_origin, false));
            }
            Ok(ExitCode::SUCCESS)
        }
        // Not set: nothing on stdout and exit 1, as `git config` does.
        _ => Ok(ExitCode::FAILURE),
    }
}

/// The repository's session and config files; with `optional`, the user
/// file alone outside a repository. A repository whose config does not
/// load (a known key with the wrong type) is still edited, without a
/// session: `config` is how the value gets fixed.
fn open(ui: &Ui, cwd: &Path, optional: bool) -> anyhow::Result<(Option<Session>, Files)> {
    match open_session(ui, cwd) {
        Ok(s) => {
            let files = config::files(Some(&s));
            Ok((Some(s), files))
        }
        Err(crate::Error::NotGitRepo { .. } | crate::Error::NotInitialized { .. }) if optional => {
            Ok((None, config::files(None)))
        }
        Err(e @ crate::Error::Config { .. }) => {
            let root = find_git_root(cwd)?;
            ui.warn(&e);
            Ok((None, config::files_at(&root)))
        }
        Err(e) => Err(e.into()),
    }
}

fn line(e: &Entry, origin: bool, with_key: bool) -> String {
    let body = if with_key {
        format!("{}={}", e.key, e.text())
    } else {
        e.text()
    };
    if origin {
        format!("{}\t{body}", e.origin)
    } else {
        body
    }
}

fn edited(ui: &Ui, r: &EditReport, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        super::ui::print_json(&r)?;
    } else {
        match &r.value {
            Some(v) => ui.info(format!("set {} = {v} in {}", r.key, r.file)),
            None => ui.info(format!("removed {} from {}", r.key, r.file)),
        }
    }
    Ok(ExitCode::SUCCESS)
}
