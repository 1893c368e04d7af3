//! `cairn verify`: re-hash every object in the cache.

use std::path::Path;
use std::process::ExitCode;

use clap::Args;
use serde_json::json;

use super::ui::Ui;
use crate::store::Store;
use crate::workspace::Workspace;

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the result as JSON on stdout.
    #[arg(long)]
    pub json: bool,
}

pub fn run(ui: &Ui, cwd: &Path, args: VerifyArgs) -> anyhow::Result<ExitCode> {
    let ws = Workspace::open(cwd)?;
    let bar = ui.progress();
    let store = Store::open(&ws.cache_dir(), &crate::progress::Silent)?;
    let damage = store.verify(&bar);
    if args.json {
        let items: Vec<_> = damage
            .iter()
            .map(|d| {
                json!({
                    "pack": d.pack,
                    "kind": d.object.map(|(k, _)| k.to_string()),
                    "id": d.object.map(|(_, id)| id.to_hex()),
                    "reason": d.reason,
                })
            })
            .collect();
        println!("{}", json!({"objects": store.len(), "damaged": items}));
    } else {
        for d in &damage {
            match d.object {
                Some((kind, id)) => {
                    println!("damaged {kind} {id} in {}: {}", d.pack.display(), d.reason)
                }
                None => println!("damaged pack {}: {}", d.pack.display(), d.reason),
            }
        }
    }
    if !damage.is_empty() {
        return Err(crate::Error::VerifyFailed {
            count: damage.len(),
        }
        .into());
    }
    ui.info(format!("verified {} object(s): all intact", store.len()));
    Ok(ExitCode::SUCCESS)
}
