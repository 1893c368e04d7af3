//! The documentation's examples run as written: every ```sh block in
//! docs/GUIDE.md and docs/CI.md that starts with `# session: NAME` is run,
//! line by line, in a fresh directory with this build's `cairn`, and must
//! succeed.

use crate::common::shell::run_session;

/// (name, lines) of every session block in `text`.
fn sessions(text: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```sh\n") {
        let body = &rest[open + 6..];
        let len = body.find("```").expect("every ```sh block is closed");
        let lines: Vec<String> = body[..len].lines().map(str::to_string).collect();
        if let Some(name) = lines.first().and_then(|l| l.strip_prefix("# session: ")) {
            out.push((name.trim().to_string(), lines.clone()));
        }
        rest = &body[len + 3..];
    }
    out
}

#[test]
fn guide_sessions_run_as_written() {
    let guide = include_str!("../../docs/GUIDE.md");
    let ci = include_str!("../../docs/CI.md");
    let mut all = sessions(guide);
    all.extend(sessions(ci));
    let names: Vec<&str> = all.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(
        names,
        ["tour", "team", "get", "ci"],
        "the documented sessions"
    );
    for (name, lines) in &all {
        let out = run_session(lines);
        assert!(
            out.status.success(),
            "guide session `{name}` failed\nstderr:\n{}\nstdout:\n{}",
            String::from_utf8_lossy(&out.stderr),
            String::from_utf8_lossy(&out.stdout)
        );
    }
}

#[test]
fn guide_lists_every_command() {
    let guide = include_str!("../../docs/GUIDE.md");
    let help = crate::common::cairn_bin();
    let out = std::process::Command::new(help)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let commands = text
        .split("Commands:")
        .nth(1)
        .expect("--help lists commands")
        .split("Options:")
        .next()
        .unwrap();
    // Verb lines are indented by two; wrapped help text by more.
    for line in commands.lines() {
        let Some(verb) = line
            .strip_prefix("  ")
            .filter(|l| !l.starts_with(' '))
            .and_then(|l| l.split_whitespace().next())
        else {
            continue;
        };
        if verb == "help" || verb == "hook" {
            continue;
        }
        assert!(
            guide.contains(&format!("`cairn {verb}")),
            "docs/GUIDE.md does not describe `cairn {verb}`"
        );
    }
}
