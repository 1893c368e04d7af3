//! The stores and credentials teams really use: the CI story on every
//! backend (a folder, S3 through moto, Azure Blob through Azurite, Google
//! Cloud Storage through fake-gcs-server), and S3 credentials from the AWS
//! SDK's chain: `credential_process` helpers and roles assumed from a
//! `source_profile`, against a moto server with authentication on.

use crate::common;

use std::path::Path;

use common::gcs::{GcsServer, EMULATOR_KEY};
use common::s3::{S3Server, REGION};
use common::story::ci_checkout_story;
use common::{random_bytes, TestRepo};

#[test]
fn ci_story_with_checkout_on_a_folder_remote() {
    let store = tempfile::tempdir().unwrap();
    let url = store.path().join("remote-store");
    ci_checkout_story(url.to_str().unwrap(), &[]);
}

#[test]
fn ci_story_with_checkout_on_an_s3_remote() {
    let server = S3Server::shared();
    let bucket = server.bucket("story");
    ci_checkout_story(&format!("s3://{bucket}/team"), &server.env());
}

/// Garage, a production S3 store that behaves unlike moto (its own region
/// name, no conditional PUTs), as a second S3 implementation. scripts/test
/// builds it once into ~/.cache/cairn-ci and starts it.
#[test]
fn ci_story_with_checkout_on_a_garage_remote() {
    let var = |k: &str| {
        std::env::var(k)
            .ok()
            .filter(|v| !v.is_empty())
            .unwrap_or_else(|| panic!("{k} is not set: run scripts/test, which starts Garage"))
    };
    let env: Vec<(String, String)> = vec![
        ("AWS_ACCESS_KEY_ID".into(), var("CAIRN_TEST_GARAGE_KEY_ID")),
        (
            "AWS_SECRET_ACCESS_KEY".into(),
            var("CAIRN_TEST_GARAGE_SECRET"),
        ),
        ("AWS_REGION".into(), var("CAIRN_TEST_GARAGE_REGION")),
        ("AWS_ENDPOINT".into(), var("CAIRN_TEST_GARAGE_ENDPOINT")),
        ("AWS_ALLOW_HTTP".into(), "true".into()),
    ];
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let bucket = var("CAIRN_TEST_GARAGE_BUCKET");
    let url = format!("s3://{bucket}/story-{}-{nanos}", std::process::id());
    ci_checkout_story(&url, &env);
}

#[test]
fn ci_story_with_checkout_on_an_azure_remote() {
    let server = common::azure::AzureServer::shared();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let container = format!("story-{}-{nanos}", std::process::id());
    server.create_container(&container);
    ci_checkout_story(&format!("az://{container}/team"), &server.env());
}

#[test]
fn ci_story_with_checkout_on_a_gcs_remote() {
    let server = GcsServer::shared();
    let bucket = server.bucket("story");
    ci_checkout_story(&format!("gs://{bucket}/team/datasets"), &server.env());
    // Everything landed under the remote's prefix, in the documented
    // layout (FORMAT.md §15).
    let names = server.list(&bucket);
    assert!(!names.is_empty());
    for n in &names {
        let rel = n
            .strip_prefix("team/datasets/")
            .unwrap_or_else(|| panic!("{n} is outside the remote's prefix"));
        assert!(
            rel.starts_with("packs/")
                || rel.starts_with("index/")
                || rel.starts_with("loc/")
                || rel == "index.list",
            "unexpected object {n}"
        );
    }
}

/// A `gs://` remote's endpoint in cairn's config is the API base URL, so a
/// team can point a committed remote at an emulator or proxy without
/// environment variables.
#[test]
fn gcs_endpoint_from_the_config_reaches_the_emulator() {
    let server = GcsServer::shared();
    let bucket = server.bucket("endpoint");
    let url = format!("gs://{bucket}");
    let repo = TestRepo::builder()
        .env("GOOGLE_SERVICE_ACCOUNT_KEY", EMULATOR_KEY)
        .cairn(&[
            "remote",
            "add",
            "origin",
            &url,
            "--endpoint",
            &server.url,
            "--allow-http",
        ])
        .file("data/a.bin", random_bytes("gcs", 300_000))
        .commit("data")
        .push()
        .build();
    assert!(server.list(&bucket).iter().any(|n| n.starts_with("packs/")));
    let mut clone = TestRepo::clone_of(&repo);
    clone.set_env("GOOGLE_SERVICE_ACCOUNT_KEY", EMULATOR_KEY);
    clone.cairn_ok(&["pull"]);
    assert_eq!(clone.read("data/a.bin"), random_bytes("gcs", 300_000));
}

/// Keys and role from `moto_roles.py` on a private, authenticating server.
struct AuthServer {
    server: S3Server,
    bucket: String,
    writer: (String, String),
    base: (String, String),
    role_arn: String,
}

fn auth_server() -> AuthServer {
    let bucket = "chain-test".to_string();
    let (server, v) = common::s3::authenticating("moto_roles.py", &bucket);
    let pair = |k: &str| {
        (
            v[k][0].as_str().unwrap().to_string(),
            v[k][1].as_str().unwrap().to_string(),
        )
    };
    AuthServer {
        writer: pair("writer"),
        base: pair("base"),
        role_arn: v["role_arn"].as_str().unwrap().to_string(),
        server,
        bucket,
    }
}

/// A repository with data, remote `origin` on `bucket`, and only the
/// non-secret settings in its environment: the endpoint, plain HTTP, and
/// no instance metadata lookups (a failure must not wait on them).
fn repo_for(s: &AuthServer) -> TestRepo {
    TestRepo::builder()
        .envs(&[
            ("AWS_ENDPOINT", s.server.endpoint.as_str()),
            ("AWS_ALLOW_HTTP", "true"),
            ("AWS_REGION", REGION),
            ("AWS_EC2_METADATA_DISABLED", "true"),
        ])
        .remote("origin", &format!("s3://{}/p", s.bucket))
        .file("data/a.bin", random_bytes("chain", 300_000))
        .commit("data")
        .build()
}

/// Run cairn; return (success, stdout + stderr).
fn run(repo: &TestRepo, args: &[&str]) -> (bool, String) {
    let out = repo.cairn(args).output().expect("run cairn");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn assert_no_secret(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a secret was printed:\n{text}");
    }
}

/// A `credential_process` helper that prints `key` and logs each run.
fn write_helper(dir: &Path, key: &(String, String)) -> std::path::PathBuf {
    let helper = dir.join("cred-helper.sh");
    let log = dir.join("cred-helper.runs");
    std::fs::write(
        &helper,
        format!(
            "#!/bin/sh\necho run >> '{}'\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n",
            log.display(),
            key.0,
            key.1
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&helper, std::fs::Permissions::from_mode(0o755)).unwrap();
    helper
}

fn helper_runs(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("cred-helper.runs"))
        .map(|t| t.lines().count())
        .unwrap_or(0)
}

#[test]
fn credential_process_in_a_profile_supplies_s3_keys_once_per_command() {
    let s = auth_server();
    let mut repo = repo_for(&s);
    let helper = write_helper(&repo.home, &s.writer);
    std::fs::create_dir_all(repo.home.join(".aws")).unwrap();
    std::fs::write(
        repo.home.join(".aws/config"),
        format!(
            "[profile team]\ncredential_process = {}\n",
            helper.display()
        ),
    )
    .unwrap();

    // Without the profile selected there are no credentials at all.
    let (ok, text) = run(&repo, &["push"]);
    assert!(!ok, "{text}");
    assert!(text.contains("credentials"), "{text}");
    assert_eq!(helper_runs(&repo.home), 0);

    repo.set_env("AWS_PROFILE", "team");
    let (ok, text) = run(&repo, &["push", "-v"]);
    assert!(ok, "{text}");
    assert_no_secret(&text, &[&s.writer.1]);
    // One helper run for the whole push (many signed requests).
    assert_eq!(helper_runs(&repo.home), 1);

    // The environment wins over the profile: a wrong key in it is used
    // (and refused), not silently replaced by the helper's.
    repo.set_env("AWS_ACCESS_KEY_ID", "AKIAWRONGWRONGWRONG0");
    repo.set_env("AWS_SECRET_ACCESS_KEY", "wrong-secret-never-printed");
    let (ok, text) = run(&repo, &["push"]);
    assert!(!ok, "{text}");
    assert!(text.contains("credentials"), "{text}");
    assert_no_secret(&text, &["wrong-secret-never-printed", &s.writer.1]);
    assert_eq!(helper_runs(&repo.home), 1);

    let mut clone = TestRepo::clone_of(&repo);
    std::fs::create_dir_all(clone.home.join(".aws")).unwrap();
    std::fs::copy(
        repo.home.join(".aws/config"),
        clone.home.join(".aws/config"),
    )
    .unwrap();
    clone.set_envs(&[
        ("AWS_ENDPOINT", s.server.endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", REGION),
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("AWS_PROFILE", "team"),
    ]);
    clone.cairn_ok(&["pull"]);
    assert_eq!(clone.read("data/a.bin"), random_bytes("chain", 300_000));
}

#[test]
fn a_role_assumed_from_a_source_profile_can_push_what_the_source_cannot() {
    let s = auth_server();
    let mut repo = repo_for(&s);
    // Files named by variables, outside HOME, as CI jobs do.
    let dir = repo.base().join("aws");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(
        dir.join("credentials"),
        format!(
            "[base]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            s.base.0, s.base.1
        ),
    )
    .unwrap();
    std::fs::write(
        dir.join("config"),
        format!(
            "[profile base]\nregion = {REGION}\n\n[profile deploy]\nrole_arn = {}\nsource_profile = base\nregion = {REGION}\nendpoint_url = {}\n",
            s.role_arn, s.server.endpoint
        ),
    )
    .unwrap();
    let files = [
        ("AWS_CONFIG_FILE", dir.join("config")),
        ("AWS_SHARED_CREDENTIALS_FILE", dir.join("credentials")),
    ];
    for (k, v) in &files {
        repo.set_env(k, v.to_str().unwrap());
    }

    // The source profile's own key may not write the bucket...
    repo.set_env("AWS_PROFILE", "base");
    let (ok, text) = run(&repo, &["push"]);
    assert!(!ok, "{text}");
    assert!(text.contains("permission denied"), "{text}");
    assert_no_secret(&text, &[&s.base.1]);

    // ...the role it assumes (through moto's STS) may.
    repo.set_env("AWS_PROFILE", "deploy");
    let (ok, text) = run(&repo, &["push", "-v"]);
    assert!(ok, "{text}");
    assert_no_secret(&text, &[&s.base.1]);
    let (status, _) = s.server.request("POST", "/moto-api/reset-auth", b"1000");
    assert_eq!(status, 200);
    assert!(
        s.server
            .list(&s.bucket, "p/packs/")
            .iter()
            .any(|(k, _)| k.ends_with(".pack")),
        "the role's push reached the bucket"
    );
}

/// The SDK's profile reader replaced cairn's own: a profile's keys, region
/// and `endpoint_url` still reach S3 when neither the environment nor
/// cairn's config sets them.
#[test]
fn a_profiles_keys_region_and_endpoint_url_are_used_when_nothing_else_sets_them() {
    let server = S3Server::shared();
    let bucket = server.bucket("profile");
    let mut repo = TestRepo::init();
    let aws = repo.home.join(".aws");
    std::fs::create_dir_all(&aws).unwrap();
    std::fs::write(
        aws.join("credentials"),
        format!(
            "[default]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            common::s3::ACCESS_KEY,
            common::s3::SECRET_KEY
        ),
    )
    .unwrap();
    std::fs::write(
        aws.join("config"),
        format!(
            "[default]\nregion = {REGION}\nendpoint_url = {}\n",
            server.endpoint
        ),
    )
    .unwrap();
    let env = [
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ];
    repo.set_envs(&env);
    repo.cairn_ok(&["remote", "add", "origin", &format!("s3://{bucket}/p")]);
    repo.write("data/a.bin", random_bytes("profile", 200_000));
    repo.cairn_ok(&["add", "data"]);
    repo.commit_all("data");
    let (ok, text) = run(&repo, &["push"]);
    assert!(ok, "{text}");
    assert_no_secret(&text, &[common::s3::SECRET_KEY]);
    assert!(!server.list(&bucket, "p/packs/").is_empty());

    let mut clone = TestRepo::clone_of(&repo);
    std::fs::create_dir_all(clone.home.join(".aws")).unwrap();
    for f in ["config", "credentials"] {
        std::fs::copy(aws.join(f), clone.home.join(".aws").join(f)).unwrap();
    }
    clone.set_envs(&env);
    clone.cairn_ok(&["pull"]);
    assert_eq!(clone.read("data/a.bin"), random_bytes("profile", 200_000));
}

/// `AZURE_*` variables configure the client, not only the emulator switch:
/// an account, its key and a plain-HTTP endpoint from the environment reach
/// Azurite (`AZURE_ALLOW_HTTP` used to be reset by cairn's own client
/// options).
#[test]
fn azure_account_endpoint_and_allow_http_from_the_environment_are_used() {
    let server = common::azure::AzureServer::shared();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    let container = format!("env-{}-{nanos}", std::process::id());
    server.create_container(&container);
    // Azurite's well-known development account (public, in Microsoft's docs).
    let key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let endpoint = format!("{}/devstoreaccount1", server.url);
    let env = [
        ("AZURE_STORAGE_ACCOUNT_NAME", "devstoreaccount1"),
        ("AZURE_STORAGE_ACCOUNT_KEY", key),
        ("AZURE_STORAGE_ENDPOINT", endpoint.as_str()),
        ("AZURE_ALLOW_HTTP", "true"),
        // Not the emulator switch (scripts/test exports it for everyone).
        ("AZURE_STORAGE_USE_EMULATOR", "false"),
    ];
    let repo = TestRepo::builder()
        .envs(&env)
        .remote("origin", &format!("az://{container}/p"))
        .file("data/a.bin", random_bytes("azure-env", 200_000))
        .commit("data")
        .build();
    let (ok, text) = run(&repo, &["push"]);
    assert!(ok, "{text}");
    let mut clone = TestRepo::clone_of(&repo);
    clone.set_envs(&env);
    clone.cairn_ok(&["pull"]);
    assert_eq!(clone.read("data/a.bin"), random_bytes("azure-env", 200_000));
}
