//! `cairn completions SHELL` and `cairn man [COMMAND]`: generated from the
//! clap definitions so they never drift from the real arguments.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Command};
use clap_complete::Shell;

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to generate completions for.
    pub shell: Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`cairn man add` is cairn-add(1));
    /// default: the overview, cairn(1).
    #[arg(value_parser = command_name)]
    pub command: Option<String>,
    /// Write every page (cairn.1, cairn-add.1, …) into DIR instead of
    /// printing one.
    #[arg(long, value_name = "DIR", conflicts_with = "command")]
    pub out_dir: Option<PathBuf>,
}

pub fn run(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut cmd = super::Cli::command();
    clap_complete::generate(args.shell, &mut cmd, "cairn", &mut std::io::stdout());
    Ok(ExitCode::SUCCESS)
}

/// A subcommand's name, checked against the real command line so a typo is
/// a usage error.
fn command_name(name: &str) -> Result<String, String> {
    let cmd = super::Cli::command();
    if pages(&cmd).any(|(n, _)| n == format!("cairn-{name}")) {
        Ok(name.to_string())
    } else {
        let names: Vec<String> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .map(|s| s.get_name().to_string())
            .collect();
        Err(format!(
            "no command named `{name}`; one of: {}",
            names.join(", ")
        ))
    }
}

/// Every page: the overview, then one per visible subcommand, each named
/// as man(1) expects (`cairn-add`), with the overview's version.
fn pages(cmd: &Command) -> impl Iterator<Item = (String, Command)> + '_ {
    let overview = std::iter::once(("cairn".to_string(), cmd.clone()));
    let subs = cmd
        .get_subcommands()
        .filter(|s| !s.is_hide_set() && s.get_name() != "help")
        .map(move |s| {
            let name = format!("cairn-{}", s.get_name());
            let page = s
                .clone()
                .name(name.clone())
                .version(cmd.get_version().unwrap_or_default().to_string());
            (name, page)
        });
    overview.chain(subs)
}

pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    let cmd = super::Cli::command();
    if let Some(dir) = args.out_dir {
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("could not create {}", dir.display()))?;
        for (name, page) in pages(&cmd) {
            let mut roff = Vec::new();
            clap_mangen::Man::new(page).render(&mut roff)?;
            let path = dir.join(format!("{name}.1"));
            crate::durable::write_atomic(&path, &roff)?;
        }
        return Ok(ExitCode::SUCCESS);
    }
    let want = match &args.command {
        Some(c) => format!("cairn-{c}"),
        None => "cairn".to_string(),
    };
    let (_, page) = pages(&cmd)
        .find(|(n, _)| *n == want)
        .context("no such manual page")?;
    clap_mangen::Man::new(page).render(&mut std::io::stdout())?;
    Ok(ExitCode::SUCCESS)
}
