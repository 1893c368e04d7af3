//! Crash tests: list the failpoints (src/failpoint.rs) a command passes,
//! then run it again armed to abort at one of them, as `kill -9` would.
//! Needs the `failpoints` feature, which scripts/test turns on.

use super::TestRepo;

/// Every failpoint a successful `cairn ARGS` passes, as `name@n` (its n-th
/// hit), in order.
pub fn points(repo: &TestRepo, args: &[&str]) -> Vec<String> {
    let log = repo.base().join("failpoints.log");
    let _ = std::fs::remove_file(&log);
    let out = repo
        .cairn_std(args)
        .env("CAIRN_FAILPOINTS_LOG", &log)
        .output()
        .expect("run cairn");
    assert!(out.status.success(), "{args:?}: {out:?}");
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    let mut seen: std::collections::HashMap<String, usize> = Default::default();
    text.lines()
        .map(|name| {
            let n = seen.entry(name.to_string()).or_insert(0);
            *n += 1;
            format!("{name}@{n}")
        })
        .collect()
}

/// Run `cairn ARGS` armed to abort at `point`: it must die there, or (when
/// this run passed that point fewer times, as with packs sealed by several
/// threads) succeed. Returns whether it crashed.
pub fn crash_at(repo: &TestRepo, args: &[&str], point: &str) -> bool {
    let out = repo
        .cairn_std(args)
        .env("CAIRN_FAILPOINTS", point)
        .output()
        .expect("run cairn");
    assert!(
        out.status.code().is_none() || out.status.success(),
        "cairn {args:?} armed at {point} failed instead of aborting: {out:?}"
    );
    out.status.code().is_none()
}

/// How many distinct failpoint names `points` (`name@n`) holds.
pub fn distinct(points: &[String]) -> usize {
    let mut names: Vec<&str> = points
        .iter()
        .map(|p| p.split('@').next().unwrap_or(p))
        .collect();
    names.sort();
    names.dedup();
    names.len()
}

/// Every failpoint in `names` (`name`, or `name@n` for its n-th hit) was
/// reached: the feature is on, and the scenario really passes through each
/// durable step.
pub fn assert_reached(points: &[String], names: &[&str]) {
    for name in names {
        assert!(
            points
                .iter()
                .any(|p| p == name || p.starts_with(&format!("{name}@"))),
            "{name} not reached: {points:?} (is the failpoints feature on?)"
        );
    }
}
