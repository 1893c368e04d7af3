//! Terminal output: messages, progress bars and error reports.
//!
//! Progress bars are drawn on stderr only when it is a terminal and `-q` is
//! not given. Errors print the way uv does: `error:` with the top message,
//! one `Caused by:` line per underlying cause, then `hint:` when the library
//! knows what to try next. Colour is used only on a terminal and never when
//! `NO_COLOR` is set.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::Global;
use crate::progress::{Progress, Warning};

pub struct Ui {
    pub quiet: bool,
    pub verbose: bool,
    tty: bool,
}

fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()) && std::io::stderr().is_terminal()
}

fn paint(code: &str, s: &str) -> String {
    if color() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

impl Ui {
    pub fn new(g: &Global) -> Ui {
        Ui {
            quiet: g.quiet,
            verbose: g.verbose,
            tty: std::io::stderr().is_terminal(),
        }
    }

    /// A message for the user on stderr, unless `-q`.
    pub fn info(&self, msg: impl AsRef<str>) {
        if !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// Detail shown only with `-v`.
    pub fn detail(&self, msg: impl AsRef<str>) {
        if self.verbose && !self.quiet {
            eprintln!("{}", msg.as_ref());
        }
    }

    /// The same terminal, with messages off (for a step whose own report
    /// would repeat the caller's).
    pub fn quiet_like(ui: &Ui) -> Ui {
        Ui {
            quiet: true,
            verbose: false,
            tty: ui.tty,
        }
    }

    pub fn warn(&self, msg: impl std::fmt::Display) {
        eprintln!("{} {msg}", paint("1;33", "warning:"));
    }

    /// A reporter that owns what it needs, for warnings raised while a
    /// remote request waits (on the network runtime's threads).
    pub fn waits(&self) -> Box<dyn Progress + Send + Sync> {
        Box::new(Warner { quiet: self.quiet })
    }

    pub fn progress(&self) -> Bar<'_> {
        Bar {
            ui: self,
            bar: Mutex::new(None),
        }
    }
}

/// Prints warnings only.
struct Warner {
    quiet: bool,
}

impl Progress for Warner {
    fn warn(&self, warning: Warning) {
        if !self.quiet {
            eprintln!("{} {warning}", paint("1;33", "warning:"));
        }
    }
}

/// Renders [`Progress`] events with indicatif.
pub struct Bar<'a> {
    ui: &'a Ui,
    bar: Mutex<Option<ProgressBar>>,
}

impl Progress for Bar<'_> {
    fn begin(&self, phase: &'static str, total: Option<u64>) {
        if self.ui.quiet || !self.ui.tty {
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(
            "{msg:>12} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ");
        bar.set_style(style);
        bar.set_message(phase);
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Ok(mut slot) = self.bar.lock() {
            *slot = Some(bar);
        }
    }

    fn advance(&self, bytes: u64) {
        if let Ok(slot) = self.bar.lock() {
            if let Some(b) = slot.as_ref() {
                b.inc(bytes);
            }
        }
    }

    fn end(&self) {
        if let Ok(mut slot) = self.bar.lock() {
            if let Some(b) = slot.take() {
                b.finish_and_clear();
            }
        }
    }

    fn warn(&self, warning: Warning) {
        if self.ui.quiet {
            return;
        }
        let slot = self.bar.lock().ok();
        match slot.as_ref().and_then(|s| s.as_ref()) {
            Some(b) => b.suspend(|| self.ui.warn(&warning)),
            None => self.ui.warn(&warning),
        }
    }
}

/// Print an error chain and the library's hint, if any.
pub fn print_error(err: &anyhow::Error) {
    eprintln!("{} {err}", paint("1;31", "error:"));
    let top: &(dyn std::error::Error + 'static) = &**err;
    for cause in crate::explain::causes(top) {
        eprintln!("  {} {cause}", paint("1", "Caused by:"));
    }
    if let Some(h) = crate::explain::hint(top) {
        eprintln!("{} {h}", paint("1;36", "hint:"));
    }
}

/// Bytes as a short human string (MB = 10^6 bytes, as in the benchmarks).
pub fn human(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut v = bytes as f64;
    let mut u = 0;
    while v >= 1000.0 && u + 1 < UNITS.len() {
        v /= 1000.0;
        u += 1;
    }
    if u == 0 {
        format!("{bytes} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}
