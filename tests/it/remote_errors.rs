//! How `push`, `fetch` and `pull` fail: exit code 1, an `error:` line
//! naming the remote and what went wrong, a `hint:`, never a secret, and
//! never a hang on a dead endpoint.

use crate::common;

use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use common::s3::{S3Server, REGION};
use common::{assert_error_report, random_bytes, TestRepo};

/// The secret every test here hands cairn: it must never be printed.
const SECRET: &str = "SuperSecret-DoNotPrint-123";

/// S3 variables for `endpoint` with the distinctive secret.
fn env_with_secret(endpoint: Option<&str>) -> Vec<(String, String)> {
    let mut env = vec![
        (
            "AWS_ACCESS_KEY_ID".to_string(),
            "cairn-test-key".to_string(),
        ),
        ("AWS_SECRET_ACCESS_KEY".to_string(), SECRET.to_string()),
        ("AWS_REGION".to_string(), REGION.to_string()),
        ("AWS_ALLOW_HTTP".to_string(), "true".to_string()),
    ];
    if let Some(e) = endpoint {
        env.push(("AWS_ENDPOINT".to_string(), e.to_string()));
    }
    env
}

/// A repository with a little committed data, using `env`.
fn repo_with_data(env: &[(String, String)]) -> TestRepo {
    TestRepo::builder()
        .envs(env)
        .file("data/a.bin", random_bytes("a", 300_000))
        .file("data/b.txt", b"hello\n")
        .commit("data")
        .build()
}

/// Run a command that must fail with exit 1 and a full error report that
/// mentions `mentions`; no secret may appear. Returns stderr and how long
/// the command took.
fn fails(
    repo: &TestRepo,
    args: &[&str],
    mentions: &[&str],
    secrets: &[&str],
) -> (String, Duration) {
    let start = Instant::now();
    let (stdout, stderr) = repo.cairn_fail(args);
    let took = start.elapsed();
    eprintln!("cairn {args:?} failed after {took:?}:\n{stderr}");
    assert_error_report(&stderr, mentions);
    for s in std::iter::once(&SECRET).chain(secrets) {
        assert!(
            !stdout.contains(s) && !stderr.contains(s),
            "cairn {args:?} printed a secret:\nstdout:\n{stdout}\nstderr:\n{stderr}"
        );
    }
    (stderr, took)
}

/// A remote error: `error: remote NAME (URL): FAILURE while trying to OP`,
/// then the cause, then the hint.
fn assert_remote_error(stderr: &str, name: &str, url: &str, failure: &str) {
    let first = stderr.lines().next().unwrap_or_default();
    assert!(
        first.starts_with(&format!(
            "error: remote {name} ({url}): {failure} while trying to "
        )),
        "{stderr}"
    );
    assert!(stderr.contains("Caused by:"), "{stderr}");
}

#[test]
fn unknown_remote_and_no_remote_configured() {
    let env = env_with_secret(None);
    let repo = repo_with_data(&env);
    fails(
        &repo,
        &["push"],
        &["no remote is configured", "remote add"],
        &[],
    );
    fails(
        &repo,
        &["push", "-r", "nope"],
        &["no remote named \"nope\""],
        &[],
    );

    repo.cairn_ok(&["remote", "add", "origin", "s3://some-bucket/p"]);
    repo.commit_all("remote");
    // With --json the same report is JSON on stdout, and stderr is quiet.
    let (stdout, stderr) = repo.cairn_fail(&["push", "-r", "nope", "--json"]);
    assert!(stderr.is_empty(), "{stderr}");
    let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
    let error = &v["error"];
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("no remote named"),
        "{v}"
    );
    assert!(
        error["hint"]
            .as_str()
            .unwrap()
            .contains("cairn remote list"),
        "{v}"
    );
    assert!(!stdout.contains(SECRET), "{stdout}");

    // A clone lacks the data, so fetch and pull need a remote.
    let mut clone = TestRepo::clone_of(&repo);
    clone.set_envs(&env);
    fails(&clone, &["fetch", "-r", "nope"], &["no remote named"], &[]);
    fails(&clone, &["pull", "-r", "nope"], &["no remote named"], &[]);
    clone.cairn_ok(&["remote", "remove", "origin"]);
    fails(&clone, &["pull"], &["no remote is configured"], &[]);
    assert!(!clone.exists("data"), "a failed pull writes no data");
}

#[test]
fn a_missing_bucket_is_named_as_such() {
    let server = S3Server::shared();
    let env = env_with_secret(Some(&server.endpoint));
    let repo = repo_with_data(&env);
    let bucket = format!("never-created-{}", std::process::id());
    let url = format!("s3://{bucket}/p");
    repo.cairn_ok(&["remote", "add", "origin", &url]);
    repo.commit_all("remote");
    let (stderr, _) = fails(&repo, &["push"], &["create the bucket"], &[]);
    assert_remote_error(&stderr, "origin", &url, "the bucket does not exist");

    let mut clone = TestRepo::clone_of(&repo);
    clone.set_envs(&env);
    let (stderr, _) = fails(&clone, &["pull"], &[], &[]);
    assert_remote_error(&stderr, "origin", &url, "the bucket does not exist");
}

#[test]
fn a_closed_port_fails_within_seconds() {
    let port = {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let endpoint = format!("http://127.0.0.1:{port}");
    let env = env_with_secret(Some(&endpoint));
    let repo = repo_with_data(&env);
    repo.cairn_ok(&["remote", "add", "origin", "s3://bucket/p"]);
    let (stderr, took) = fails(&repo, &["push"], &["connect_timeout"], &[]);
    assert_remote_error(
        &stderr,
        "origin",
        "s3://bucket/p",
        "the endpoint cannot be reached",
    );
    assert!(took < Duration::from_secs(5), "took {took:?}:\n{stderr}");
}

/// A local address that accepts no connection: a listener whose accept
/// queue (backlog 0) is already full, so the kernel drops further SYNs and
/// a connect hangs until its timeout, as with a firewalled host.
fn blackhole() -> (TcpListener, Vec<TcpStream>, u16) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    // SAFETY: listen(2) on a socket we own, to shrink its backlog.
    assert_eq!(unsafe { libc::listen(l.as_raw_fd(), 0) }, 0);
    let addr = l.local_addr().unwrap();
    let mut fill = Vec::new();
    for _ in 0..4 {
        if let Ok(s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
            fill.push(s);
        }
    }
    (l, fill, addr.port())
}

#[test]
fn an_unanswering_endpoint_fails_after_the_connect_timeout() {
    let (_listener, _queued, port) = blackhole();
    // No AWS_ENDPOINT: the config file's endpoint is used.
    let repo = repo_with_data(&env_with_secret(None));
    repo.cairn_ok(&["remote", "add", "origin", "s3://bucket/p"]);
    let config = |host: &str| {
        format!(
            "[remote.origin]\nendpoint = \"http://{host}\"\nallow_http = true\n\
             connect_timeout = \"1s\"\nretries = 0\n"
        )
    };
    repo.write(
        ".cairn/config.local.toml",
        config(&format!("127.0.0.1:{port}")),
    );
    let (stderr, took) = fails(&repo, &["push"], &["connect_timeout"], &[]);
    assert_remote_error(
        &stderr,
        "origin",
        "s3://bucket/p",
        "the endpoint cannot be reached",
    );
    assert!(took < Duration::from_secs(10), "took {took:?}:\n{stderr}");

    // A non-routable address. Some sandboxes answer every address through
    // a transparent proxy, so only the time limit and the report are
    // checked here, not the kind of failure.
    repo.write(".cairn/config.local.toml", config("10.255.255.1:9000"));
    let (stderr, took) = fails(&repo, &["push"], &["remote origin"], &[]);
    assert!(took < Duration::from_secs(10), "took {took:?}:\n{stderr}");
}

/// A private server with authentication on, a bucket, and a user `reader`
/// allowed only to read it; returns the server, bucket and reader's key.
fn authenticating_server() -> (S3Server, String, String, String) {
    let bucket = "auth-test".to_string();
    let (server, v) = common::s3::authenticating("moto_iam.py", &bucket);
    let id = v["access_key_id"].as_str().unwrap().to_string();
    let secret = v["secret_access_key"].as_str().unwrap().to_string();
    (server, bucket, id, secret)
}

#[test]
fn refused_credentials_and_missing_permission_are_told_apart() {
    let (server, bucket, reader_id, reader_secret) = authenticating_server();
    let url = format!("s3://{bucket}/p");
    let mut repo = repo_with_data(&env_with_secret(Some(&server.endpoint)));
    repo.cairn_ok(&["remote", "add", "origin", &url]);

    // An unknown key, then a known key with the wrong secret.
    for key in ["AKIAUNKNOWNKEY000000", reader_id.as_str()] {
        repo.set_env("AWS_ACCESS_KEY_ID", key);
        let (stderr, _) = fails(&repo, &["push"], &["AWS_SECRET_ACCESS_KEY"], &[]);
        assert_remote_error(
            &stderr,
            "origin",
            &url,
            "the credentials are missing or were refused",
        );
    }

    // The reader's real key may list but not write.
    repo.set_env("AWS_SECRET_ACCESS_KEY", &reader_secret);
    let (stderr, _) = fails(&repo, &["push"], &["policy"], &[&reader_secret]);
    assert_remote_error(&stderr, "origin", &url, "permission denied");
    // Nothing reached the bucket (authentication off again, to look).
    let (status, _) = server.request("POST", "/moto-api/reset-auth", b"1000");
    assert_eq!(status, 200);
    assert_eq!(
        server.list(&bucket, ""),
        vec![],
        "a refused push wrote nothing"
    );
}

#[test]
fn an_http_remote_is_read_only() {
    let repo = repo_with_data(&env_with_secret(None));
    repo.cairn_ok(&["remote", "add", "web", "http://127.0.0.1:9/store"]);
    let (stderr, took) = fails(
        &repo,
        &["push", "-r", "web"],
        &["web", "read-only", "s3://"],
        &[],
    );
    assert!(took < Duration::from_secs(5), "no network needed: {took:?}");
    assert!(
        stderr.starts_with("error: remote web is read-only"),
        "{stderr}"
    );
}
