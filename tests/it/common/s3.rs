//! A local S3 server (moto) for the transfer tests.
//!
//! [`S3Server::shared`] is one server for the whole test process: the one
//! `CAIRN_TEST_S3_ENDPOINT` names (`eval "$(scripts/s3-server.sh start)"`),
//! or else a `moto_server` spawned on a free port. Tests share it by using
//! their own buckets ([`S3Server::bucket`]). [`S3Server::private`] starts a
//! server of the test's own, with extra environment (moto's request
//! recorder, or authentication), killed when dropped.
//!
//! Spawned servers get `PR_SET_PDEATHSIG`, so they die with the test
//! process even when it is killed. The signal fires when the *thread* that
//! spawned the child exits, so the shared server is spawned from a thread
//! that lives as long as the process.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use tempfile::TempDir;

/// The credentials the servers accept while authentication is off.
pub const ACCESS_KEY: &str = "cairn-test-key";
pub const SECRET_KEY: &str = "cairn-test-secret";
pub const REGION: &str = "us-east-1";

/// A running S3-compatible server.
pub struct S3Server {
    /// `http://HOST:PORT`, what `AWS_ENDPOINT` should be.
    pub endpoint: String,
    /// `HOST:PORT`, for plain HTTP requests.
    addr: String,
    /// The process, when this test binary started it.
    child: Option<Child>,
    /// Holds the server's log (and recording, for private servers).
    dir: Option<TempDir>,
}

/// One request moto's recorder saw.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    /// The URL path, percent-encoded as sent (no query).
    pub path: String,
    pub query: String,
    /// Length of the request body.
    pub body_len: usize,
}

impl Recorded {
    /// PUT, POST or DELETE: a request that changes the server.
    pub fn is_write(&self) -> bool {
        matches!(self.method.as_str(), "PUT" | "POST" | "DELETE")
    }

    /// Whether the request addressed `bucket` or an object in it
    /// (path-style addressing, which a custom endpoint uses).
    pub fn in_bucket(&self, bucket: &str) -> bool {
        self.path == format!("/{bucket}") || self.path.starts_with(&format!("/{bucket}/"))
    }
}

fn moto_binary() -> Result<PathBuf, String> {
    let candidate = match std::env::var_os("CAIRN_MOTO_SERVER").filter(|v| !v.is_empty()) {
        Some(p) => PathBuf::from(p),
        None => {
            // The developer's real home, not a test repository's.
            let home = std::env::var_os("HOME").ok_or("HOME is not set")?;
            Path::new(&home).join(".cache/cairn-ci/moto-venv/bin/moto_server")
        }
    };
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(format!(
            "no moto_server at {}: the S3 tests need a local S3 server. Run \
             `scripts/s3-server.sh install` (or `eval \"$(scripts/s3-server.sh start)\"`, \
             which also sets CAIRN_TEST_S3_ENDPOINT), or set CAIRN_MOTO_SERVER",
            candidate.display()
        ))
    }
}

fn temp_dir() -> TempDir {
    tempfile::Builder::new()
        .prefix("cairn-moto-")
        .tempdir()
        .expect("create a temp dir for moto")
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    l.local_addr().unwrap().port()
}

/// The Python interpreter of the venv `moto_server` lives in (it has boto3).
pub fn moto_python() -> PathBuf {
    let bin = moto_binary().unwrap_or_else(|e| panic!("{e}"));
    bin.with_file_name("python")
}

/// A private server whose authentication a fixture script sets up
/// (`scripts/NAME`, run with moto's Python against the server and
/// `bucket`): setup requests pass unauthenticated, then authentication is on
/// for everything after. Returns the server and the script's JSON output
/// (keys and roles it created).
pub fn authenticating(fixture: &str, bucket: &str) -> (S3Server, serde_json::Value) {
    let server = S3Server::private(&[("INITIAL_NO_AUTH_ACTION_COUNT", "1000")]);
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("scripts")
        .join(fixture);
    let out = Command::new(moto_python())
        .arg(&script)
        .args([&server.endpoint, bucket])
        .output()
        .expect("run the moto setup script");
    assert!(
        out.status.success(),
        "{fixture} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v = serde_json::from_slice(&out.stdout).expect("the fixture prints JSON");
    (server, v)
}

impl S3Server {
    /// The server shared by every test in this process.
    pub fn shared() -> &'static S3Server {
        static SHARED: OnceLock<S3Server> = OnceLock::new();
        SHARED.get_or_init(|| {
            if let Some(ep) = std::env::var("CAIRN_TEST_S3_ENDPOINT")
                .ok()
                .filter(|v| !v.is_empty())
            {
                let addr = ep
                    .strip_prefix("http://")
                    .unwrap_or_else(|| panic!("CAIRN_TEST_S3_ENDPOINT must be http://HOST:PORT"))
                    .trim_end_matches('/')
                    .to_string();
                return S3Server {
                    endpoint: format!("http://{addr}"),
                    addr,
                    child: None,
                    dir: None,
                };
            }
            // Spawn from a thread that never exits: the death signal is
            // tied to the spawning thread, and test threads end early.
            let (tx, rx) = mpsc::channel();
            std::thread::Builder::new()
                .name("shared-moto-server".into())
                .spawn(move || {
                    tx.send(S3Server::spawn(&[])).unwrap();
                    loop {
                        std::thread::park();
                    }
                })
                .expect("start the server thread");
            rx.recv()
                .expect("server thread")
                .unwrap_or_else(|e| panic!("{e}"))
        })
    }

    /// A server of the caller's own, started with `env` added (for example
    /// `MOTO_ENABLE_RECORDING`, `INITIAL_NO_AUTH_ACTION_COUNT`); killed on
    /// drop.
    pub fn private(env: &[(&str, &str)]) -> S3Server {
        S3Server::spawn(env).unwrap_or_else(|e| panic!("{e}"))
    }

    /// A private server whose recorder logs every request (see
    /// [`S3Server::recorded`]).
    pub fn recording() -> S3Server {
        let dir = temp_dir();
        let file = dir.path().join("recording.jsonl");
        let env = [
            ("MOTO_ENABLE_RECORDING", "true"),
            ("MOTO_RECORDER_FILEPATH", file.to_str().unwrap()),
        ];
        S3Server::spawn_in(dir, &env).unwrap_or_else(|e| panic!("{e}"))
    }

    fn spawn(env: &[(&str, &str)]) -> Result<S3Server, String> {
        S3Server::spawn_in(temp_dir(), env)
    }

    /// Start moto_server on a free port, its log (and recording) in `dir`.
    fn spawn_in(dir: TempDir, env: &[(&str, &str)]) -> Result<S3Server, String> {
        let bin = moto_binary()?;
        let mut last_err = String::new();
        for _attempt in 0..3 {
            let port = free_port();
            let log = std::fs::File::create(dir.path().join("log")).map_err(|e| e.to_string())?;
            let mut cmd = Command::new(&bin);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .envs(env.iter().copied())
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log);
            // SAFETY: prctl and getppid are async-signal-safe; nothing is
            // allocated between fork and exec.
            unsafe {
                let parent = libc::getpid();
                cmd.pre_exec(move || {
                    if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    if libc::getppid() != parent {
                        libc::_exit(1);
                    }
                    Ok(())
                });
            }
            let mut child = cmd
                .spawn()
                .map_err(|e| format!("start {}: {e}", bin.display()))?;
            let addr = format!("127.0.0.1:{port}");
            let deadline = Instant::now() + Duration::from_secs(30);
            loop {
                if let Ok(Some(status)) = child.try_wait() {
                    let log = std::fs::read_to_string(dir.path().join("log")).unwrap_or_default();
                    last_err = format!("moto_server exited with {status}:\n{log}");
                    break;
                }
                if let Ok((200, _)) = http(&addr, "GET", "/moto-api/", &[]) {
                    return Ok(S3Server {
                        endpoint: format!("http://{addr}"),
                        addr,
                        child: Some(child),
                        dir: Some(dir),
                    });
                }
                if Instant::now() > deadline {
                    let _ = child.kill();
                    let _ = child.wait();
                    last_err = "moto_server did not answer within 30 s".into();
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        Err(last_err)
    }

    /// The variables cairn needs to use this server, with the default
    /// credentials. Give them to every cairn command explicitly.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AWS_ACCESS_KEY_ID".into(), ACCESS_KEY.into()),
            ("AWS_SECRET_ACCESS_KEY".into(), SECRET_KEY.into()),
            ("AWS_REGION".into(), REGION.into()),
            ("AWS_ENDPOINT".into(), self.endpoint.clone()),
            ("AWS_ALLOW_HTTP".into(), "true".into()),
        ]
    }

    /// A plain HTTP request to the server; returns (status, body).
    pub fn request(&self, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
        http(&self.addr, method, path, body)
            .unwrap_or_else(|e| panic!("{method} {}{path}: {e}", self.endpoint))
    }

    /// Create a bucket (an unsigned PUT, which moto accepts while
    /// authentication is off).
    pub fn create_bucket(&self, name: &str) {
        let (status, body) = self.request("PUT", &format!("/{name}"), &[]);
        assert_eq!(
            status,
            200,
            "create bucket {name}: {}",
            String::from_utf8_lossy(&body)
        );
    }

    /// A new bucket with a name no other test (or earlier run against the
    /// same server) uses.
    pub fn bucket(&self, tag: &str) -> String {
        static N: AtomicUsize = AtomicUsize::new(0);
        let nanos = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
            % 1_000_000_000;
        let name = format!(
            "{tag}-{}-{}-{nanos}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        self.create_bucket(&name);
        name
    }

    /// Keys (and sizes) under `prefix` in `bucket`, sorted.
    pub fn list(&self, bucket: &str, prefix: &str) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut q = format!("/{bucket}?list-type=2&prefix={}", encode(prefix));
            if let Some(t) = &token {
                q.push_str(&format!("&continuation-token={}", encode(t)));
            }
            let (status, body) = self.request("GET", &q, &[]);
            let body = String::from_utf8_lossy(&body).into_owned();
            assert_eq!(status, 200, "list {bucket}: {body}");
            for item in body.split("<Contents>").skip(1) {
                let key = tag(item, "Key").expect("Key in Contents");
                let size = tag(item, "Size").and_then(|s| s.parse().ok()).unwrap_or(0);
                out.push((unescape(&key), size));
            }
            token = tag(&body, "NextContinuationToken");
            if token.is_none() {
                break;
            }
        }
        out.sort();
        out
    }

    /// Every request recorded so far (servers from [`S3Server::recording`]).
    pub fn recorded(&self) -> Vec<Recorded> {
        let file = self
            .dir
            .as_ref()
            .expect("a private server")
            .path()
            .join("recording.jsonl");
        let text = std::fs::read_to_string(&file).unwrap_or_default();
        // moto writes each entry and its newline with separate writes, so
        // concurrent requests can leave two entries on one line: read the
        // file as a stream of JSON values, not line by line.
        serde_json::Deserializer::from_str(&text)
            .into_iter::<serde_json::Value>()
            .map(|v| {
                let v = v.expect("moto's recording is JSON");
                let url = v["url"].as_str().unwrap_or_default();
                let after_scheme = url.split_once("://").map_or(url, |(_, r)| r);
                let path_q = after_scheme.find('/').map_or("/", |i| &after_scheme[i..]);
                let (path, query) = path_q.split_once('?').unwrap_or((path_q, ""));
                let body = v["body"].as_str().unwrap_or_default();
                let body_len = if v["body_encoded"].as_bool() == Some(true) {
                    body.len() / 4 * 3 - body.bytes().rev().take_while(|&b| b == b'=').count()
                } else {
                    body.len()
                };
                Recorded {
                    method: v["method"].as_str().unwrap_or_default().to_string(),
                    path: path.to_string(),
                    query: query.to_string(),
                    body_len,
                }
            })
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn tag(text: &str, name: &str) -> Option<String> {
    let open = format!("<{name}>");
    let start = text.find(&open)? + open.len();
    let end = text[start..].find(&format!("</{name}>"))?;
    Some(text[start..start + end].to_string())
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One HTTP/1.1 request over a fresh connection; returns (status, body).
pub fn http(addr: &str, method: &str, path: &str, body: &[u8]) -> std::io::Result<(u16, Vec<u8>)> {
    http_with(addr, method, path, "", body)
}

/// [`http`] with extra header lines (each ending in `\r\n`).
pub fn http_with(
    addr: &str,
    method: &str,
    path: &str,
    headers: &str,
    body: &[u8],
) -> std::io::Result<(u16, Vec<u8>)> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    s.write_all(body)?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let bad = || std::io::Error::other(format!("bad HTTP response from {addr}"));
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(bad)?;
    let head = String::from_utf8_lossy(&resp[..split]);
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    let mut payload = resp[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        payload = dechunk(&payload);
    }
    Ok((status, payload))
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&b[..eol])
            .ok()
            .and_then(|s| usize::from_str_radix(s.split(';').next().unwrap().trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = eol + 2;
        out.extend_from_slice(&b[start..(start + size).min(b.len())]);
        b = &b[(start + size + 2).min(b.len())..];
    }
    out
}
