//! The `cairn` binary: parse arguments, run, report.

use std::process::ExitCode;

fn main() -> ExitCode {
    restore_sigpipe();
    // Answers the shell when it asks for completions (`COMPLETE=<shell>`
    // in the environment), then exits; otherwise does nothing.
    clap_complete::CompleteEnv::with_factory(<cairn::cli::Cli as clap::CommandFactory>::command)
        .complete();
    let json = cairn::cli::json_requested(std::env::args_os());
    // `cat` keeps stdout for the file's bytes: its JSON, an error in its
    // arguments included, goes to stderr.
    if json && cairn::cli::verb_requested(std::env::args_os()).as_deref() == Some("cat") {
        cairn::cli::ui::json_on_stderr();
    }
    let args = match cairn::cli::Cli::try_parse_from_env() {
        Ok(args) => args,
        // A usage error: exit 2, as clap does, in JSON when asked for.
        Err(err) if json && err.use_stderr() => {
            cairn::cli::ui::print_usage_error_json(&err);
            return ExitCode::from(2);
        }
        Err(err) => err.exit(),
    };
    match cairn::cli::run(args) {
        Ok(code) => {
            cairn::cli::ui::finish_json();
            code
        }
        Err(err) => {
            if json {
                cairn::cli::ui::print_error_json(&err);
            } else {
                cairn::cli::ui::print_error(&err);
            }
            if err.downcast_ref::<cairn::cli::BadFlagValue>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// End quietly when the reader of stdout goes away (`cairn ls | head -1`),
/// as git and other Unix tools do, instead of failing a write and
/// panicking. Rust ignores SIGPIPE by default; sockets are unaffected,
/// because the standard library sends with `MSG_NOSIGNAL` (Linux) or sets
/// `SO_NOSIGPIPE` (macOS) on every socket it opens.
fn restore_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called first thing in main, before any thread exists; it only
    // resets one signal's disposition to the default.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}
