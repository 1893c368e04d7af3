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
use serde::Serialize;

use super::Global;
use crate::progress::{Progress, Warning};

pub struct Ui {
    pub quiet: bool,
    pub verbose: bool,
    /// Draw progress bars: stderr is a terminal, and neither `-q` nor
    /// `--no-progress` was given.
    bars: bool,
}

/// The progress bar's layout. Sizes are decimal (kB, MB, GB), as
/// [`human`] prints them in messages. At most 79 columns with the longest
/// phase name ("verifying remote") and the widest numbers, so a bar never
/// wraps on an 80-column terminal (tested below).
const BAR_TEMPLATE: &str =
    "{msg:>16} [{bar:18}] {decimal_bytes}/{decimal_total_bytes} {decimal_bytes_per_sec} {eta}";

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
            bars: !g.quiet && !g.no_progress && std::io::stderr().is_terminal(),
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
            bars: ui.bars,
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
        if !self.ui.bars {
            return;
        }
        let bar = match total {
            Some(t) => ProgressBar::new(t),
            None => ProgressBar::new_spinner(),
        };
        bar.set_draw_target(ProgressDrawTarget::stderr());
        let style = ProgressStyle::with_template(BAR_TEMPLATE)
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

/// The version of every `--json` output's shape (docs/JSON.md). Raised
/// when a field is renamed or removed or changes meaning; adding a field
/// does not raise it.
pub const JSON_SCHEMA: u32 = 1;

/// A report with the schema version in front: one place adds it, so no
/// report struct carries it and no command can forget it.
#[derive(Serialize)]
struct Versioned<'a, T: Serialize + ?Sized> {
    schema: u32,
    #[serde(flatten)]
    report: &'a T,
}

/// The report `print_json` was given, printed when the command ends:
/// alone on success, with the error added on failure, so stdout always
/// carries exactly one JSON document.
static PENDING: Mutex<Option<String>> = Mutex::new(None);

/// Set by a command whose stdout carries data (`cat`): its JSON, report
/// and errors alike, goes to stderr.
static JSON_ON_STDERR: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Send this command's JSON to stderr (its stdout carries data).
pub fn json_on_stderr() {
    JSON_ON_STDERR.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Print one line of JSON where this command's JSON goes.
fn emit(line: &str) {
    if JSON_ON_STDERR.load(std::sync::atomic::Ordering::Relaxed) {
        eprintln!("{line}");
    } else {
        println!("{line}");
    }
}

/// Print `report` (a struct or map) as JSON on stdout, with `"schema"` as
/// its first field: one line, when the command ends ([`finish_json`], or
/// [`print_error_json`] with the error added).
pub fn print_json<T: Serialize + ?Sized>(report: &T) -> anyhow::Result<()> {
    let line = serde_json::to_string(&Versioned {
        schema: JSON_SCHEMA,
        report,
    })?;
    if let Some(earlier) = pending().replace(line) {
        // Not done by any command; never lose a report if one does.
        emit(&earlier);
    }
    Ok(())
}

fn pending() -> std::sync::MutexGuard<'static, Option<String>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Print the report of a command that succeeded, if it made one.
pub fn finish_json() {
    if let Some(line) = pending().take() {
        emit(&line);
    }
}

/// An error as `--json` prints it (docs/JSON.md, "Errors").
#[derive(Serialize)]
struct ErrorReport {
    message: String,
    causes: Vec<String>,
    hint: Option<String>,
    kind: String,
}

/// Print an error as JSON on stdout, where a script reading `--json`
/// output looks: as the `error` field of the report when the command made
/// one before failing (what it did, and why it failed), else alone. The
/// exit code is the same as without `--json`.
pub fn print_error_json(err: &anyhow::Error) {
    let top: &(dyn std::error::Error + 'static) = &**err;
    print_error_value(ErrorReport {
        message: err.to_string(),
        causes: crate::explain::causes(top),
        hint: crate::explain::hint(top),
        kind: if err.downcast_ref::<super::BadFlagValue>().is_some() {
            "usage".to_string()
        } else {
            crate::explain::kind(top)
        },
    });
}

/// A usage error (a bad flag or value) as JSON, `kind` `usage`.
pub fn print_usage_error_json(err: &clap::Error) {
    let text = err.render().to_string();
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Usage:") && !l.starts_with("For more"));
    let message = lines
        .next()
        .unwrap_or("invalid arguments")
        .trim_start_matches("error: ")
        .to_string();
    let hint = lines
        .find_map(|l| l.strip_prefix("tip: "))
        .map(str::to_string);
    print_error_value(ErrorReport {
        message,
        causes: Vec::new(),
        hint,
        kind: "usage".to_string(),
    });
}

fn print_error_value(error: ErrorReport) {
    emit(&with_error(pending().take(), &error));
}

/// `report` (a JSON object, as `print_json` made it) with `"error"` added
/// as its last field; without a report, `{"schema":1,"error":…}`.
fn with_error(report: Option<String>, error: &ErrorReport) -> String {
    #[derive(Serialize)]
    struct Wrapped<'a> {
        error: &'a ErrorReport,
    }
    // Strings and options only: serialising cannot fail.
    let alone = serde_json::to_string(&Versioned {
        schema: JSON_SCHEMA,
        report: &Wrapped { error },
    })
    .unwrap_or_default();
    match report.as_deref().and_then(|r| r.strip_suffix('}')) {
        // `alone` is `{"schema":1,"error":{…}}`: its fields after the
        // schema go on the end of the report's.
        Some(open) => match alone.split_once(',') {
            Some((_, rest)) => format!("{open},{rest}"),
            None => alone,
        },
        None => alone,
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The bar at its widest: the longest phase name, and every number at
    /// its widest ("999.99 MB", "999.99 MB/s", an eta like "59m" or "23h").
    #[test]
    fn the_bar_fits_in_80_columns() {
        let widest = BAR_TEMPLATE
            .replace("{msg:>16}", &"x".repeat("verifying remote".len().max(16)))
            .replace("{bar:18}", &"=".repeat(18))
            .replace("{decimal_bytes}", "999.99 MB")
            .replace("{decimal_total_bytes}", "999.99 MB")
            .replace("{decimal_bytes_per_sec}", "999.99 MB/s")
            .replace("{eta}", "59m");
        assert!(!widest.contains('{'), "{widest}");
        assert!(widest.len() < 80, "{} columns: {widest}", widest.len());
        assert!(ProgressStyle::with_template(BAR_TEMPLATE).is_ok());
    }

    /// Bars and messages count in the same units.
    #[test]
    fn bars_use_the_units_of_messages() {
        assert_eq!(human(1_500_000), "1.5 MB");
        assert_eq!(
            indicatif::DecimalBytes(1_500_000).to_string(),
            "1.50 MB",
            "the bars' unit"
        );
    }

    #[test]
    fn an_error_after_a_report_goes_into_it() {
        let e = ErrorReport {
            message: "m".into(),
            causes: vec![],
            hint: None,
            kind: "k".into(),
        };
        let error = r#""error":{"message":"m","causes":[],"hint":null,"kind":"k"}"#;
        assert_eq!(with_error(None, &e), format!(r#"{{"schema":1,{error}}}"#));
        let report = r#"{"schema":1,"a":{"b":1}}"#.to_string();
        assert_eq!(
            with_error(Some(report), &e),
            format!(r#"{{"schema":1,"a":{{"b":1}},{error}}}"#)
        );
    }

    #[test]
    fn a_report_gets_the_schema_version_first() {
        #[derive(Serialize)]
        struct R {
            a: u8,
        }
        let line = serde_json::to_string(&Versioned {
            schema: JSON_SCHEMA,
            report: &R { a: 1 },
        })
        .unwrap();
        assert_eq!(line, r#"{"schema":1,"a":1}"#);
    }
}
