//! The `cairn` binary: parse arguments, run, report.

use std::process::ExitCode;

fn main() -> ExitCode {
    let args = cairn::cli::Cli::parse_from_env();
    match cairn::cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            cairn::cli::ui::print_error(&err);
            ExitCode::FAILURE
        }
    }
}
