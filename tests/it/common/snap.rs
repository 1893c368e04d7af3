//! Snapshots of what cairn prints: a [`Transcript`] runs commands and
//! records each one's exit code, stdout and stderr exactly, and
//! [`assert_transcript!`] compares it with the stored `.snap` file under
//! one set of filters ([`Transcript::settings`]), so every snapshot hides
//! the same things and only those.
//!
//! The filters replace what differs from run to run — the test's
//! temporary directories, content ids, git commit ids, dates, pids — and
//! nothing else: the tests write fixed data, so sizes, counts and messages
//! stay literal and any change to them shows as a snapshot diff.
//!
//! One-line JSON on stdout is shown indented, keys in the order cairn
//! printed them (not re-serialised, which would sort them and hide a
//! reordering); the indentation is the only change.

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::Output;

use super::TestRepo;

/// Commands run and what they printed, for one snapshot.
pub struct Transcript<'a> {
    /// Repositories whose paths and commit ids are filtered, each with the
    /// label its root gets (`ROOT` for the first).
    repos: Vec<(&'a TestRepo, &'static str)>,
    text: String,
    /// Commit ids the repositories knew after each command (a commit
    /// printed and then dropped, say by gc of a branch, stays filtered).
    seen: BTreeSet<String>,
}

impl<'a> Transcript<'a> {
    /// A transcript whose paths are relative to `repo`: its root shows as
    /// `[ROOT]`, its home as `[HOME]` and the temporary directory holding
    /// both (and remote folders and clones beside it) as `[TMP]`.
    pub fn new(repo: &'a TestRepo) -> Transcript<'a> {
        Transcript {
            repos: vec![(repo, "ROOT")],
            text: String::new(),
            seen: BTreeSet::new(),
        }
    }

    /// Also filter the paths and commit ids of `other`, a repository in a
    /// temporary directory of its own: its root shows as `[LABEL]`, its
    /// home as `[LABEL_HOME]` and its directory as `[LABEL_TMP]`.
    pub fn also(mut self, other: &'a TestRepo, label: &'static str) -> Transcript<'a> {
        self.repos.push((other, label));
        self
    }

    /// A line of explanation (`# TEXT`) between commands.
    pub fn note(&mut self, text: &str) {
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        let _ = writeln!(self.text, "# {text}");
    }

    /// Run `cairn ARGS` in `repo` and record it; returns its output for
    /// any further checks.
    pub fn run(&mut self, repo: &TestRepo, args: &[&str]) -> Output {
        let out = repo.cairn(args).output().expect("run cairn");
        let known = self.commits();
        self.seen.extend(known);
        if !self.text.is_empty() {
            self.text.push('\n');
        }
        let _ = writeln!(self.text, "$ cairn {}", args.join(" "));
        match out.status.code() {
            Some(code) => {
                let _ = writeln!(self.text, "--- exit {code}");
            }
            None => {
                let _ = writeln!(self.text, "--- killed by a signal");
            }
        }
        let stdout = String::from_utf8(out.stdout.clone()).expect("stdout is UTF-8");
        let stderr = String::from_utf8(out.stderr.clone()).expect("stderr is UTF-8");
        for text in [&stdout, &stderr] {
            assert!(
                !text.contains('\x1b') && !text.contains('\r'),
                "no colour and no progress bar without a terminal:\n{text:?}"
            );
        }
        self.stream("stdout", &stdout);
        self.stream("stderr", &stderr);
        out
    }

    /// Run `cairn ARGS` in `repo`, record it, and check its exit code.
    pub fn expect(&mut self, repo: &TestRepo, args: &[&str], code: i32) -> Output {
        let out = self.run(repo, args);
        assert_eq!(
            out.status.code(),
            Some(code),
            "cairn {args:?}\n{}",
            self.text
        );
        out
    }

    /// [`Transcript::expect`] with exit code 0.
    pub fn ok(&mut self, repo: &TestRepo, args: &[&str]) -> Output {
        self.expect(repo, args, 0)
    }

    fn stream(&mut self, name: &str, text: &str) {
        if text.is_empty() {
            let _ = writeln!(self.text, "--- {name}: (empty)");
            return;
        }
        let (body, newline) = match text.strip_suffix('\n') {
            Some(b) => (b, true),
            None => (text, false),
        };
        let end = if newline { "" } else { ", no newline at end" };
        match indent_json(body) {
            Some(json) => {
                let _ = writeln!(
                    self.text,
                    "--- {name} (one line of JSON, indented here{end})"
                );
                let _ = writeln!(self.text, "{json}");
            }
            None => {
                let _ = writeln!(
                    self.text,
                    "--- {name}{}",
                    if newline { "" } else { " (no newline at end)" }
                );
                let _ = writeln!(self.text, "{body}");
            }
        }
    }

    /// The recorded text (unfiltered).
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The insta settings every snapshot uses: the filters described in
    /// the module documentation, for the repositories of this transcript.
    pub fn settings(&self) -> insta::Settings {
        let mut s = insta::Settings::clone_current();
        s.set_prepend_module_to_snapshot(false);
        s.set_omit_expression(true);
        // Paths, most specific first: a root and a home lie inside their
        // temporary directory.
        for (repo, label) in &self.repos {
            let (home, tmp) = if *label == "ROOT" {
                ("HOME".to_string(), "TMP".to_string())
            } else {
                (format!("{label}_HOME"), format!("{label}_TMP"))
            };
            s.add_filter(
                &regex_quote(repo.root.to_str().unwrap()),
                format!("[{label}]"),
            );
            s.add_filter(
                &regex_quote(repo.home.to_str().unwrap()),
                format!("[{home}]"),
            );
            s.add_filter(
                &regex_quote(repo.base().to_str().unwrap()),
                format!("[{tmp}]"),
            );
        }
        // Content ids (BLAKE3, 64 hex digits).
        s.add_filter(r"\b[0-9a-f]{64}\b", "[ID]");
        // Git commit ids, full or abbreviated (at least 7 digits): exactly
        // the commits these repositories know, so no number or id that
        // merely looks like hex is touched.
        for sha in self.seen.union(&self.commits()) {
            s.add_filter(&format!(r"\b{}[0-9a-f]{{0,33}}\b", &sha[..7]), "[SHA]");
        }
        // Dates and times that come from the clock (commit dates).
        s.add_filter(r"\b\d{4}-\d{2}-\d{2}\b", "[DATE]");
        s.add_filter(r#""time": \d+"#, r#""time": [TIME]"#);
        // A lock holder's process id.
        s.add_filter(r"\bpid \d+\b", "pid [PID]");
        s
    }

    /// Every commit any of the repositories can reach, reflogs included.
    fn commits(&self) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for (repo, _) in &self.repos {
            if !repo.root.join(".git").exists() {
                continue;
            }
            let has_head = repo
                .git_cmd(&["rev-parse", "-q", "--verify", "HEAD"])
                .output()
                .is_ok_and(|o| o.status.success());
            if !has_head {
                continue;
            }
            for line in repo.git(&["rev-list", "--all", "--reflog"]).lines() {
                out.insert(line.trim().to_string());
            }
        }
        out
    }
}

/// `text` with every regex metacharacter escaped.
fn regex_quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if "\\.+*?()|[]{}^$-".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// One line of compact JSON, indented by two spaces per level with keys
/// in their printed order; `None` when `line` is not compact JSON (more
/// than one line, whitespace between tokens, or not JSON at all).
pub fn indent_json(line: &str) -> Option<String> {
    if line.contains('\n') || serde_json::from_str::<serde_json::Value>(line).is_err() {
        return None;
    }
    let first = line.chars().next()?;
    if first != '{' && first != '[' {
        return None;
    }
    let mut out = String::with_capacity(line.len() * 2);
    let mut depth = 0usize;
    let (mut in_string, mut escaped) = (false, false);
    let mut chars = line.chars().peekable();
    let newline = |out: &mut String, depth: usize| {
        out.push('\n');
        out.push_str(&"  ".repeat(depth));
    };
    while let Some(c) = chars.next() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => {
                in_string = true;
                out.push(c);
            }
            '{' | '[' => {
                out.push(c);
                let close = if c == '{' { '}' } else { ']' };
                if chars.peek() == Some(&close) {
                    out.push(close);
                    chars.next();
                } else {
                    depth += 1;
                    newline(&mut out, depth);
                }
            }
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                newline(&mut out, depth);
                out.push(c);
            }
            ',' => {
                out.push(c);
                newline(&mut out, depth);
            }
            ':' => out.push_str(": "),
            c if c.is_whitespace() => return None,
            c => out.push(c),
        }
    }
    Some(out)
}

/// Compare a [`Transcript`] with the snapshot `NAME` (stored in
/// `snapshots/NAME.snap` beside the calling module), under
/// [`Transcript::settings`].
macro_rules! assert_transcript {
    ($name:expr, $transcript:expr) => {{
        let t = &$transcript;
        t.settings()
            .bind(|| insta::assert_snapshot!($name, t.text()));
    }};
}
pub(crate) use assert_transcript;

#[test]
fn indent_json_only_adds_whitespace_and_keeps_key_order() {
    let line = r#"{"z":1,"a":[],"m":{"k":"a,b:{c}[\"d\"]"},"l":[1,{"x":null}],"e":{}}"#;
    let pretty = indent_json(line).unwrap();
    assert!(pretty.find("\"z\"").unwrap() < pretty.find("\"a\"").unwrap());
    assert!(pretty.contains(r#""k": "a,b:{c}[\"d\"]""#), "{pretty}");
    let mut in_string = false;
    let mut escaped = false;
    let squeezed: String = pretty
        .chars()
        .filter(|&c| {
            let keep = in_string || !c.is_whitespace();
            if in_string {
                match (escaped, c) {
                    (true, _) => escaped = false,
                    (false, '\\') => escaped = true,
                    (false, '"') => in_string = false,
                    _ => {}
                }
            } else if c == '"' {
                in_string = true;
            }
            keep
        })
        .collect();
    assert_eq!(squeezed, line);
    assert_eq!(indent_json("not json"), None);
    assert_eq!(indent_json(r#"{"a": 1}"#), None, "only compact JSON");
    assert_eq!(indent_json("12"), None);
}
