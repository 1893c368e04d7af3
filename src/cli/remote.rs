//! `cairn remote add/list/remove`: name the places data is pushed to.

use std::path::Path;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use serde_json::json;

use super::ui::Ui;
use crate::remote::RemoteConfig;
use crate::workspace::Workspace;

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
    },
    /// List the remotes.
    List {
        /// Print the result as JSON on stdout.
        #[arg(long)]
        json: bool,
    },
    /// Remove a remote (its stored data is not touched).
    Remove {
        /// The remote's name.
        name: String,
    },
}

pub fn run(ui: &Ui, cwd: &Path, args: RemoteArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let path = ws.cairn_dir().join("config.toml");
    let mut cfg = RemoteConfig::load(&path)?;
    match args.action {
        RemoteAction::Add {
            name,
            url,
            default,
            endpoint,
            region,
            allow_http,
        } => {
            let _lock = ws.lock()?;
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
            ui.info(format!(
                "added remote {name} ({url}){}; commit .cairn/config.toml to share it",
                if cfg.default_remote().as_deref() == Some(name.as_str()) {
                    ", the default"
                } else {
                    ""
                }
            ));
        }
        RemoteAction::List { json } => {
            let default = cfg.default_remote();
            // One invalid entry is flagged; the others are still listed.
            let remotes = cfg.list_each(ws.root())?;
            for (_, _, location) in &remotes {
                if let Err(e) = location {
                    ui.warn(e);
                }
            }
            if json {
                let rows: Vec<_> = remotes
                    .iter()
                    .map(|(name, url, loc)| json!({"name": name, "url": url, "default": default.as_deref() == Some(name.as_str()), "error": loc.as_ref().err().map(|e| e.to_string())}))
                    .collect();
                println!("{}", json!({"remotes": rows}));
            } else {
                for (name, url, loc) in &remotes {
                    let mark = if default.as_deref() == Some(name.as_str()) {
                        " (default)"
                    } else {
                        ""
                    };
                    let bad = if loc.is_err() { " (invalid)" } else { "" };
                    println!("{name}\t{url}{mark}{bad}");
                }
            }
        }
        RemoteAction::Remove { name } => {
            let _lock = ws.lock()?;
            cfg.remove(&name)?;
            cfg.save()?;
            ui.info(format!("removed remote {name}"));
        }
    }
    Ok(ExitCode::SUCCESS)
}
