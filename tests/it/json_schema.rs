//! Every command's `--json` output, successes and errors, validated against
//! the checked-in JSON Schema (docs/schema/cairn.schema.json), so that a
//! renamed, removed or retyped field fails here until the schema (and
//! docs/JSON.md) say so too. The schema forbids unknown fields and requires
//! every field, so it is as strict as the output is.

use std::collections::BTreeSet;

use serde_json::Value;

use crate::common::{random_bytes, TestRepo};

/// The schema file, as checked in.
fn schema() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/schema/cairn.schema.json");
    serde_json::from_str(&std::fs::read_to_string(&path).expect("read the schema"))
        .expect("the schema is JSON")
}

/// Validates lines against one `$defs` entry each, and remembers which
/// entries some output matched.
struct Checker {
    schema: Value,
    used: BTreeSet<String>,
}

impl Checker {
    fn new() -> Checker {
        let schema = schema();
        // The whole file must itself be a valid schema.
        jsonschema::validator_for(&schema).expect("the schema compiles");
        Checker {
            schema,
            used: BTreeSet::new(),
        }
    }

    /// `doc` must match `$defs/def` (and so the whole schema's `oneOf`).
    fn check(&mut self, def: &str, doc: &Value, what: &str) {
        let one = serde_json::json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "$defs": self.schema["$defs"],
            "$ref": format!("#/$defs/{def}"),
        });
        let v = jsonschema::validator_for(&one).expect("the definition compiles");
        let errors: Vec<String> = v.iter_errors(doc).map(|e| e.to_string()).collect();
        assert!(
            errors.is_empty(),
            "{what}: does not match $defs/{def}: {errors:?}\n{doc:#}"
        );
        let all = jsonschema::validator_for(&self.schema).expect("the schema compiles");
        assert!(
            all.is_valid(doc),
            "{what}: matches no single output\n{doc:#}"
        );
        self.used.insert(def.to_string());
    }

    /// Run `cairn ARGS` in `repo`: exit `code`, and stdout one line of
    /// JSON. On success it is a `def` report; on failure it has an error
    /// of kind `kind`, alone (`$defs/error`) or in a `def` report of what
    /// was done before the command failed.
    fn run(&mut self, repo: &TestRepo, args: &[&str], code: i32, def: &str, kind: &str) {
        let out = repo.cairn(args).output().expect("run cairn");
        // `cat` writes the file on stdout, and its JSON on stderr.
        let (stdout, stderr) = if args[0] == "cat" {
            (String::from_utf8(out.stderr).expect("UTF-8"), String::new())
        } else {
            (
                String::from_utf8(out.stdout).expect("UTF-8"),
                String::from_utf8_lossy(&out.stderr).into_owned(),
            )
        };
        let what = format!("cairn {}", args.join(" "));
        assert_eq!(
            out.status.code(),
            Some(code),
            "{what}\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
        assert_eq!(stdout.lines().count(), 1, "{what}: one line\n{stdout}");
        let doc: Value =
            serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{what}: {e}: {stdout}"));
        if code == 0 || code == 3 {
            assert!(doc.get("error").is_none(), "{what}: {doc}");
            self.check(def, &doc, &what);
            return;
        }
        assert_eq!(doc["error"]["kind"], kind, "{what}: {doc}");
        assert!(
            !stderr.contains("error:"),
            "{what}: the error is on stdout\n{stderr}"
        );
        let alone = doc.as_object().is_some_and(|o| o.len() == 2);
        self.check(if alone { "error" } else { def }, &doc, &what);
    }
}

/// Two tagged versions pushed to the folder remote `origin`.
fn pushed() -> TestRepo {
    TestRepo::builder()
        .relative_folder_remote("origin", "store")
        .file("data/a.txt", b"one\n")
        .file("data/sub/b.bin", random_bytes("b", 70_000))
        .file("model.bin", random_bytes("m1", 90_000))
        .commit("v1")
        .tag("v1")
        .file("model.bin", random_bytes("m2", 90_000))
        .commit("v2")
        .tag("v2")
        .push()
        .build()
}

#[test]
fn every_json_output_matches_the_schema() {
    let mut c = Checker::new();
    let plain = TestRepo::plain();
    let repo = pushed();
    let fresh = TestRepo::new();

    c.run(&fresh, &["init", "--json"], 0, "init", "");
    c.run(&plain, &["init", "--json"], 1, "init", "not_git_repo");

    repo.write("extra.bin", random_bytes("x", 5_000));
    c.run(&repo, &["add", "--json", "extra.bin"], 0, "add", "");
    repo.write("junk.bin", random_bytes("junk", 1_000));
    repo.cairn_ok(&["add", "junk.bin"]);
    c.run(&repo, &["rm", "--json", "junk.bin"], 0, "rm", "");
    c.run(
        &repo,
        &["rm", "--json", "nosuch.bin"],
        1,
        "rm",
        "not_tracked_here",
    );
    c.run(
        &repo,
        &["mv", "--json", "extra.bin", "extra2.bin"],
        0,
        "mv",
        "",
    );
    c.run(
        &repo,
        &["mv", "--json", "nosuch.bin", "x.bin"],
        1,
        "mv",
        "not_tracked_here",
    );
    c.run(&repo, &["cat", "--json", "v1:model.bin"], 0, "cat", "");
    c.run(
        &repo,
        &["cat", "--json", "v1:nosuch.bin"],
        1,
        "cat",
        "no_file_at",
    );
    c.run(
        &repo,
        &["add", "--json", "nothing.bin"],
        1,
        "add",
        "no_such_path",
    );

    c.run(&repo, &["status", "--json"], 0, "status", "");
    repo.write("data/a.txt", b"changed\n");
    c.run(&repo, &["status", "--json", "--exit-code"], 3, "status", "");
    c.run(&plain, &["status", "--json"], 1, "status", "not_git_repo");

    c.run(
        &repo,
        &["checkout", "--json", "--force", "data"],
        0,
        "checkout",
        "",
    );
    c.run(
        &repo,
        &["checkout", "--json", "nosuchrev"],
        1,
        "checkout",
        "not_revision_or_path",
    );

    c.run(&repo, &["verify", "--json"], 0, "verify", "");
    c.run(&plain, &["verify", "--json"], 1, "verify", "not_git_repo");
    // extra.bin is not pushed yet: a report, then the error.
    let remote = ["verify", "--json", "--remote", "origin", "-j", "2"];
    c.run(&repo, &remote, 1, "verify_remote", "remote_verify_failed");
    c.run(
        &repo,
        &["verify", "--json", "--remote", "nosuch"],
        1,
        "verify_remote",
        "unknown_remote",
    );

    c.run(&repo, &["ls", "--json", "v1"], 0, "ls", "");
    c.run(
        &repo,
        &["ls", "--json", "nosuchrev"],
        1,
        "ls",
        "not_revision_or_path",
    );
    c.run(&repo, &["ls", "--json", "-R", "v1"], 0, "ls", "");
    c.run(&repo, &["log", "--json", "model.bin"], 0, "log", "");
    c.run(
        &repo,
        &["log", "--json", "never-tracked.bin"],
        1,
        "log",
        "never_tracked",
    );
    c.run(&repo, &["du", "--json"], 0, "du", "");
    c.run(&repo, &["du", "--json", "v1"], 0, "du", "");
    c.run(
        &repo,
        &["du", "--json", "nosuchrev"],
        1,
        "du",
        "not_revision_or_path",
    );
    c.run(
        &plain,
        &["log", "--json", "model.bin"],
        1,
        "log",
        "not_git_repo",
    );
    c.run(&repo, &["diff", "--json", "v1", "v2"], 0, "diff", "");
    c.run(
        &repo,
        &["diff", "--json", "--exit-code", "v1", "v2"],
        3,
        "diff",
        "",
    );
    c.run(
        &repo,
        &["diff", "--json", "v1", "nosuchrev"],
        1,
        "diff",
        "git_unknown_revision",
    );

    c.run(&repo, &["gc", "--json", "--dry-run"], 0, "gc_cache", "");
    c.run(
        &repo,
        &["gc", "--json", "--grace", "banana"],
        2,
        "gc_cache",
        "usage",
    );
    c.run(
        &repo,
        &["gc", "--json", "--remote", "origin", "--dry-run"],
        0,
        "gc_remote",
        "",
    );
    c.run(
        &repo,
        &["gc", "--json", "--remote", "nosuch"],
        1,
        "gc_remote",
        "unknown_remote",
    );

    c.run(&repo, &["push", "--json", "-j", "3"], 0, "push", "");
    c.run(&repo, &remote, 0, "verify_remote", "");
    c.run(
        &repo,
        &["push", "--json", "-r", "nosuch"],
        1,
        "push",
        "unknown_remote",
    );
    c.run(&repo, &["push", "--json", "-j", "0"], 2, "push", "usage");

    let clone = repo.clone_beside("clone");
    c.run(&clone, &["fetch", "--json", "v1"], 0, "fetch", "");
    c.run(
        &clone,
        &["fetch", "--json", "-r", "nosuch"],
        1,
        "fetch",
        "unknown_remote",
    );
    c.run(&clone, &["pull", "--json", "-j", "1"], 0, "pull", "");
    c.run(
        &clone,
        &["pull", "--json", "nosuchrev"],
        1,
        "pull",
        "not_revision_or_path",
    );

    let out = plain.path("got.bin");
    let (url, out) = (repo.root.to_str().unwrap(), out.to_str().unwrap());
    let get = ["get", "--json", url, "model.bin", "--rev", "v1", "-o", out];
    c.run(&plain, &get, 0, "get", "");
    // Already there: cairn get never overwrites.
    c.run(&plain, &get, 1, "get", "output_exists");

    c.run(
        &repo,
        &["remote", "add", "--json", "backup", "../backup"],
        0,
        "remote_add",
        "",
    );
    c.run(
        &repo,
        &["remote", "add", "--json", "backup", "../b2"],
        1,
        "remote_add",
        "remote_exists",
    );
    c.run(&repo, &["remote", "list", "--json"], 0, "remote_list", "");
    c.run(
        &plain,
        &["remote", "list", "--json"],
        1,
        "remote_list",
        "not_git_repo",
    );
    c.run(
        &repo,
        &["remote", "remove", "--json", "backup"],
        0,
        "remote_remove",
        "",
    );
    c.run(
        &repo,
        &["remote", "remove", "--json", "backup"],
        1,
        "remote_remove",
        "unknown_remote",
    );

    c.run(&repo, &["install-hooks", "--json"], 0, "install_hooks", "");
    c.run(
        &plain,
        &["install-hooks", "--json"],
        1,
        "install_hooks",
        "not_git_repo",
    );
    let un = ["install-hooks", "--json", "--uninstall"];
    c.run(&repo, &un, 0, "uninstall_hooks", "");
    c.run(
        &repo,
        &["install-hooks", "--json", "--global"],
        0,
        "install_hooks_global",
        "",
    );
    let un = ["install-hooks", "--json", "--global", "--uninstall"];
    c.run(&repo, &un, 0, "uninstall_hooks_global", "");

    let list = ["config", "--list", "--show-origin", "--json"];
    c.run(&repo, &list, 0, "config_list", "");
    c.run(
        &repo,
        &["config", "gc.grace", "2d", "--json"],
        0,
        "config_set",
        "",
    );
    c.run(
        &repo,
        &["config", "gc.grace", "--json"],
        0,
        "config_get",
        "",
    );
    c.run(
        &repo,
        &["config", "--unset", "gc.grace", "--json"],
        0,
        "config_set",
        "",
    );
    c.run(
        &repo,
        &["config", "gc.graze", "--json"],
        1,
        "config_get",
        "unknown_config_key",
    );
    c.run(&repo, &["doctor", "--json"], 0, "doctor", "");

    let dvc = TestRepo::init();
    let body = b"a,b\n";
    let md5: String = md5::Digest::finalize(<md5::Md5 as md5::Digest>::new_with_prefix(body))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    dvc.write(
        &format!(".dvc/cache/files/md5/{}/{}", &md5[..2], &md5[2..]),
        body,
    );
    let out = |md5: &str, path: &str| {
        format!("outs:\n- md5: {md5}\n  size: 4\n  hash: md5\n  path: {path}\n")
    };
    dvc.write("t.csv.dvc", out(&md5, "t.csv"));
    dvc.write("gone.csv.dvc", out(&"0".repeat(32), "gone.csv"));
    dvc.commit_all("dvc");
    c.run(&dvc, &["import", "dvc", "--json", "t.csv"], 0, "import", "");
    c.run(
        &dvc,
        &["import", "dvc", "--json", "--all-tags"],
        1,
        "import",
        "import_incomplete",
    );
    c.run(&plain, &["doctor", "--json"], 0, "doctor", "");

    // Every command's definition was matched by some output, and the
    // error definition too: none is left untested.
    let defs: BTreeSet<String> = c.schema["oneOf"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            r["$ref"]
                .as_str()
                .unwrap()
                .trim_start_matches("#/$defs/")
                .to_string()
        })
        .filter(|d| d != "gc")
        .chain(["gc_cache".to_string(), "gc_remote".to_string()])
        .collect();
    let unused: Vec<&String> = defs.difference(&c.used).collect();
    assert!(unused.is_empty(), "never checked: {unused:?}");
}

/// The schema is strict: a renamed or an extra field fails it.
#[test]
fn the_schema_rejects_a_renamed_field() {
    let mut doc = serde_json::json!({
        "schema": 1, "root": "/r", "cairn_dir": "/r/.cairn", "created": true,
        "gitattributes_written": true
    });
    let s = schema();
    let one = serde_json::json!({"$defs": s["$defs"], "$ref": "#/$defs/init"});
    let v = jsonschema::validator_for(&one).unwrap();
    assert!(v.is_valid(&doc));
    let created = doc.as_object_mut().unwrap().remove("created").unwrap();
    doc["was_created"] = created;
    assert!(!v.is_valid(&doc), "renamed");
    doc = serde_json::json!({
        "schema": 2, "root": "/r", "cairn_dir": "/r/.cairn", "created": true,
        "gitattributes_written": true
    });
    assert!(!v.is_valid(&doc), "another schema version");
}
