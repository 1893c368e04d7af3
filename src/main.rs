//! The `cairn` binary: parse arguments, run, report.

use std::process::ExitCode;

fn main() -> ExitCode {
    restore_sigpipe();
    let args = cairn::cli::Cli::parse_from_env();
    match cairn::cli::run(args) {
        Ok(code) => code,
        Err(err) => {
            cairn::cli::ui::print_error(&err);
            ExitCode::FAILURE
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
