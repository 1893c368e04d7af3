//! A local Azure Blob Storage emulator (Azurite) for the Azure remote tests.
//!
//! `AzureServer::shared()` uses `CAIRN_TEST_AZURE_URL` when set (as
//! `scripts/test` does after `scripts/azure-server.sh start`), and otherwise
//! starts Azurite from `~/.cache/cairn-ci/azurite` on a free port, killed
//! with the test process. Containers are created with the Python client in
//! the tools venv (`scripts/azure-server.sh install` sets both up).

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

pub struct AzureServer {
    pub url: String,
    _child: Option<Child>,
}

fn real_home() -> PathBuf {
    PathBuf::from(std::env::var_os("HOME").expect("HOME is set"))
}

fn python() -> PathBuf {
    match std::env::var_os("CAIRN_MOTO_VENV").filter(|v| !v.is_empty()) {
        Some(v) => Path::new(&v).join("bin/python"),
        None => real_home().join(".cache/cairn-ci/moto-venv/bin/python"),
    }
}

fn spawn() -> Result<AzureServer, String> {
    let dir = match std::env::var_os("CAIRN_AZURITE_DIR").filter(|v| !v.is_empty()) {
        Some(d) => PathBuf::from(d),
        None => real_home().join(".cache/cairn-ci/azurite"),
    };
    let bin = dir.join("node_modules/.bin/azurite-blob");
    if !bin.exists() {
        return Err(format!(
            "no Azurite at {}: run `scripts/azure-server.sh install`, or set CAIRN_TEST_AZURE_URL",
            bin.display()
        ));
    }
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let mut cmd = Command::new(&bin);
    cmd.args([
        "--inMemoryPersistence",
        "--disableTelemetry",
        "--skipApiVersionCheck",
        "--silent",
        "--blobHost",
        "127.0.0.1",
        "--blobPort",
        &port.to_string(),
    ])
    .stdin(Stdio::null())
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
    let child = cmd
        .spawn()
        .map_err(|e| format!("start {}: {e}", bin.display()))?;
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("Azurite did not listen within 30 s".into());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(AzureServer {
        url: format!("http://127.0.0.1:{port}"),
        _child: Some(child),
    })
}

impl AzureServer {
    pub fn shared() -> &'static AzureServer {
        static SHARED: OnceLock<AzureServer> = OnceLock::new();
        SHARED.get_or_init(|| {
            if let Some(url) = std::env::var("CAIRN_TEST_AZURE_URL")
                .ok()
                .filter(|v| !v.is_empty())
            {
                return AzureServer { url, _child: None };
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

    /// Create a container named `name` (lowercase letters, digits, '-').
    pub fn create_container(&self, name: &str) {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/azurite_container.py");
        let out = Command::new(python())
            .arg(&script)
            .args([&self.url, name])
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "run {}: {e}; run `scripts/azure-server.sh install`",
                    python().display()
                )
            });
        assert!(
            out.status.success(),
            "creating container {name} failed (run `scripts/azure-server.sh install`):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// What cairn needs to reach the emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("AZURE_STORAGE_USE_EMULATOR".into(), "true".into()),
            ("AZURITE_BLOB_STORAGE_URL".into(), self.url.clone()),
        ]
    }
}
