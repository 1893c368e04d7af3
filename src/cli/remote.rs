//! `cairn remote add/list/remove`: name the places data is pushed to, and
//! [`resolve`], which every command that talks to a remote goes through so
//! that `-v` says which remote was chosen and which config layer named it.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::ui::Ui;
use crate::ops::Session;
use crate::remote::settings::Layer;
use crate::remote::{RemoteConfig, ResolvedRemote};

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
    let session = Session::open(cwd)?;
    let ws = session.workspace();
    let committed = ws.cairn_dir().join("config.toml");
    let local_path = ws.cairn_dir().join("config.local.toml");
    match args.action {
        RemoteAction::Add {
            name,
            url,
            default,
            endpoint,
            region,
            allow_http,
            local,
        } => {
            let _lock = ws.lock()?;
            let mut cfg = if local {
                let mut c = RemoteConfig::load_or_new(&local_path)?;
                c.auto_default = !matches!(
                    session.remote(None),
                    Ok(_) | Err(crate::Error::UnknownRemote { .. })
                );
                c
            } else {
                RemoteConfig::load(&committed)?
            };
            let mut settings: Vec<(&str, toml_edit::Value)> = Vec::new();
            if let Some(e) = endpoint {
                crate::remote::check_endpoint(&e)?;
                settings.push(("endpoint", e.into()));
            }
            if let Some(r) = region {
                settings.push(("region", r.into()));
            }
            if allow_http {
                settings.push(("allow_http", true.into()));
            }
            cfg.add_with(&name, &url, ws.root(), default, &settings)?;
            cfg.save()?;
            let is_default = if cfg.default_remote().as_deref() == Some(name.as_str()) {
                ", the default"
            } else {
                ""
            };
            if local {
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
            let rows = session.remotes();
            if json {
                let rows: Vec<_> = rows
                    .iter()
                    .map(|r| {
                        json!({
                            "name": r.name,
                            "url": r.url,
                            "default": r.default,
                            "layer": r.layer.name(),
                            "source": r.origin,
                            "error": r.problem,
                        })
                    })
                    .collect();
                println!("{}", json!({"remotes": rows}));
            } else {
                for r in &rows {
                    let mark = if r.default { " (default)" } else { "" };
                    // The committed file is where remotes usually live:
                    // only the other layers are named.
                    let layer = match r.layer {
                        Layer::Committed => String::new(),
                        Layer::DefaultBranch => format!("\t[{} on {}]", r.layer.name(), r.origin),
                        l => format!("\t[{}]", l.name()),
                    };
                    match &r.problem {
                        None => println!(
                            "{}\t{}{mark}{layer}",
                            r.name,
                            r.url.as_deref().unwrap_or("")
                        ),
                        Some(p) => {
                            let name = if r.name.is_empty() { "?" } else { &r.name };
                            println!("{name}\tINVALID ({}: {p}){layer}", r.origin);
                        }
                    }
                }
            }
            if rows.iter().any(|r| r.problem.is_some()) {
                ui.warn(
                    "some remote entries are invalid (marked INVALID); fix them in the file named",
                );
            }
        }
        RemoteAction::Remove { name } => {
            let _lock = ws.lock()?;
            let mut cfg = RemoteConfig::load(&committed)?;
            if !cfg.has(&name) {
                let local = RemoteConfig::load_or_new(&local_path)?;
                if local.has(&name) {
                    cfg = local;
                }
            }
            cfg.remove(&name)?;
            cfg.save()?;
            ui.info(format!("removed remote {name}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
