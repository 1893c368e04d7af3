//! Unit tests of `ops::diff`: the report's JSON shape and the pure
//! helpers, kept beside the module so it stays readable.

use serde_json::json;

use super::*;

/// The report serialises to the JSON `diff --json` built by hand (with
/// `json!`) before: same keys, same order, same bytes.
#[test]
fn report_prints_as_it_always_has() {
    let file = |change, old_size, new_size| ChangedFile {
        change,
        new_size,
        old_size,
        path: "data/f".into(),
    };
    let report = DiffReport {
        complete: false,
        from: "HEAD".into(),
        new_bytes: 12,
        paths: vec![
            ChangedPath {
                change: Change::Modified,
                files: vec![
                    file(Change::Added, None, Some(3)),
                    file(Change::Modified, Some(1), Some(2)),
                    file(Change::Removed, Some(4), None),
                ],
                kind: "dir",
                new_bytes: 12,
                new_size: Some(20),
                old_size: Some(10),
                path: "data".into(),
                unadded: true,
            },
            ChangedPath {
                change: Change::Removed,
                files: Vec::new(),
                kind: "file",
                new_bytes: 0,
                new_size: None,
                old_size: Some(5),
                path: "old.bin".into(),
                unadded: false,
            },
        ],
        to: None,
    };
    let rows: Vec<_> = report
        .paths
        .iter()
        .map(|p| {
            let files: Vec<_> = p
                .files
                .iter()
                .map(|f| {
                    json!({
                        "path": f.path,
                        "change": f.change.to_string(),
                        "old_size": f.old_size,
                        "new_size": f.new_size,
                    })
                })
                .collect();
            json!({
                "path": p.path,
                "change": p.change.to_string(),
                "kind": p.kind,
                "old_size": p.old_size,
                "new_size": p.new_size,
                "new_bytes": p.new_bytes,
                "files": files,
                "unadded": p.unadded,
            })
        })
        .collect();
    let before = json!({
        "from": "HEAD",
        "to": report.to,
        "paths": rows,
        "new_bytes": 12,
        "complete": false,
    });
    assert_eq!(serde_json::to_string(&report).unwrap(), before.to_string());
}
