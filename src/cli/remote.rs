//! `cairn remote add/list/remove`: name the places data is pushed to (the
//! work is `ops::remote`; this file parses and renders), and [`resolve`],
//! which every command that talks to a remote goes through so that `-v`
//! says which remote was chosen and which config layer named it.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};

use super::session::open_session;
use super::ui::Ui;
use crate::ops::remote::{self, AddOptions, RemoteList};
use crate::ops::Session;
use crate::remote::settings::Layer;
use crate::remote::ResolvedRemote;

#[derive(Debug, Args)]
pub struct RemoteArgs {
    #[command(subcommand)]
    pub action: RemoteAction,
}

#[derive(Debug, Subcommand)]
pub enum RemoteAction {
    /// Add a remote: a path, file://, s3://bucket/prefix, gs://, az:// or http(s)://.
    Add {
        /// The remote's name, such as `origin`.
        name: String,
        /// Where its data lives.
        url: String,
        /// Make it the default remote (the first remote added always is).
        #[arg(long)]
        default: bool,
        /// S3-compatible endpoint (MinIO, Garage, R2), e.g. https://minio.example:9000.
        #[arg(long, value_name = "URL")]
        endpoint: Option<String>,
        /// Region of the bucket.
        #[arg(long)]
        region: Option<String>,
        /// Allow a plain-http endpoint.
        #[arg(long)]
        allow_http: bool,
        /// Write it to the uncommitted .cairn/config.local.toml (this
        /// clone only) instead of the committed config.
        #[arg(long)]
        local: bool,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// List the remotes of every config layer, and where each comes from.
    List {
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a remote from the committed config, or from the local one if
    /// only that has it (its stored data is not touched).
    Remove {
        /// The remote's name.
        name: String,
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
}

/// Resolve the remote for a command (`-r NAME|URL`, else the default) and,
/// with `-v`, say which it is and which config layer named it.
pub(crate) fn resolve(
    ui: &Ui,
    session: &Session,
    requested: Option<&str>,
) -> crate::Result<ResolvedRemote> {
    let r = session.remote(requested)?;
    ui.detail(describe(&r));
    Ok(r)
}

/// "remote origin (../store), from the committed config": the `-v` line.
pub(crate) fn describe(r: &ResolvedRemote) -> String {
    let from = match (r.layer, &r.branch) {
        (Layer::DefaultBranch, Some(b)) => {
            format!("from .cairn/config.toml on {b} (the work tree's config names none)")
        }
        (Layer::CommandLine, _) => "given on the command line".to_string(),
        (layer, _) => format!("from the {} config", layer.name()),
    };
    format!(
        "remote {} ({}), {from}",
        r.name,
        crate::remote::redact(&r.url)
    )
}

pub fn run(ui: &Ui, cwd: &Path, args: RemoteArgs) -> anyhow::Result<ExitCode> {
    // A bad --endpoint is a usage error (exit 2), checked here rather than
    // by clap, whose message would echo the value, credentials and all.
    if let RemoteAction::Add {
        endpoint: Some(e), ..
    } = &args.action
    {
        crate::remote::check_endpoint(e).map_err(super::BadFlagValue)?;
    }
    let session = open_session(ui, cwd)?;
    match args.action {
        RemoteAction::Add {
            name,
            url,
            default,
            endpoint,
            region,
            allow_http,
            local,
            json,
        } => {
            let opts = AddOptions {
                name,
                url,
                default,
                endpoint,
                region,
                allow_http,
                local,
            };
            let r = remote::add(&session, opts)?;
            if json {
                super::ui::print_json(&r)?;
                return Ok(ExitCode::SUCCESS);
            }
            let (name, url) = (&r.name, &r.url);
            let is_default = if r.default { ", the default" } else { "" };
            if r.local {
                ui.info(format!(
                    "added remote {name} ({url}){is_default} to .cairn/config.local.toml (this clone only, not committed)"
                ));
            } else {
                ui.info(format!(
                    "added remote {name} ({url}){is_default}; commit .cairn/config.toml to share it"
                ));
            }
        }
        RemoteAction::List { json } => {
            let list = remote::list(&session);
            if json {
                super::ui::print_json(&list)?;
            } else {
                print_list(&list);
            }
            if list.has_invalid() {
                ui.warn(
                    "some remote entries are invalid (marked INVALID); fix them in the file named",
                );
            }
        }
        RemoteAction::Remove { name, json } => {
            let r = remote::remove(&session, &name)?;
            if json {
                super::ui::print_json(&r)?;
            } else {
                ui.info(format!("removed remote {}", r.name));
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// One line per remote on stdout: name, URL, `(default)`, and the layer
/// when it is not the committed file, where remotes usually live.
fn print_list(list: &RemoteList) {
    for r in &list.remotes {
        let mark = if r.default { " (default)" } else { "" };
        let layer = match r.layer {
            Layer::Committed => String::new(),
            Layer::DefaultBranch => format!("\t[{} on {}]", r.layer.name(), r.source),
            l => format!("\t[{}]", l.name()),
        };
        match &r.error {
            None => println!(
                "{}\t{}{mark}{layer}",
                r.name,
                r.url.as_deref().unwrap_or("")
            ),
            Some(p) => {
                let name = if r.name.is_empty() { "?" } else { &r.name };
                println!("{name}\tINVALID ({}: {p}){layer}", r.source);
            }
        }
    }
}
