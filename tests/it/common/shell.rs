//! Running documentation as written: the README's first session and the
//! guide's sessions are shell lines run one by one in one bash, in a fresh
//! directory with an isolated home and this build's `cairn` first on PATH.

use std::process::{Command, Output};

use super::TestRepo;

/// Run `lines` one by one in one bash (so `cd` carries over) in a fresh
/// directory with an isolated home and this build's cairn first on PATH.
/// Any line that exits non-zero stops the run, and stderr names it.
pub fn run_session(lines: &[String]) -> Output {
    let t = TestRepo::plain();
    let mut script = String::new();
    for (i, line) in lines.iter().enumerate() {
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        script.push_str(line);
        let quoted = line.replace('\'', "'\\''");
        script.push_str(&format!(
            "\nrc=$?; if [ $rc -ne 0 ]; then echo 'line {}: {quoted}' >&2; echo \"exit $rc\" >&2; exit 1; fi\n",
            i + 1
        ));
    }
    let bin_dir = super::cairn_bin().parent().unwrap();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let work = t.base().join("session");
    std::fs::create_dir_all(&work).unwrap();
    let proto = t.cairn_std(&[]);
    let mut cmd = Command::new("bash");
    for (k, v) in proto.get_envs() {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    cmd.current_dir(&work)
        .env("PATH", path)
        .args(["--noprofile", "--norc", "-c", &script])
        .output()
        .expect("run bash")
}
