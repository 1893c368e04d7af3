//! Which remote a command uses and how to reach it, resolved from every
//! config layer.
//!
//! `[remote.NAME]` tables may appear in the user config, the committed repo
//! config and the uncommitted local config; later layers win key by key, so
//! a developer can point a shared remote at a local MinIO in
//! `config.local.toml` without touching the committed file. Only connection
//! settings live here; credentials never do (they come from the provider's
//! environment and chain).

use std::path::Path;
use std::time::Duration;

use super::{parse_url, Location};
use crate::config::{parse_duration, user_config_path};
use crate::error::{Error, Result};

/// How to reach a remote, beyond its URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// A custom S3 endpoint (MinIO, Garage, R2, a local test server).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Allow plain-http endpoints.
    pub allow_http: Option<bool>,
    /// Send unsigned requests (public buckets).
    pub skip_signature: bool,
    /// Give up connecting after this long (no hang on a dead endpoint).
    pub connect_timeout: Duration,
    /// Give up on a small request (listing, index file, delete), retries
    /// included, after about this long.
    pub request_timeout: Duration,
    /// Retries of a failed request, with exponential backoff.
    pub retries: usize,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            endpoint: None,
            region: None,
            allow_http: None,
            skip_signature: false,
            connect_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(15),
            retries: 3,
        }
    }
}

/// The slowest transfer rate a pack request must survive: the largest
/// single upload (just under 24 MiB) at this rate takes about three minutes.
pub const MIN_RATE: u64 = 128 << 10;

impl Settings {
    /// How long a request carrying up to one part of pack data may take:
    /// the small-request limit plus the largest single upload (a part, or
    /// a pack just below the multipart threshold) at [`MIN_RATE`].
    pub fn bulk_timeout(&self) -> Duration {
        let part = crate::transfer::MULTIPART_MIN.max(crate::transfer::PART as u64);
        self.request_timeout + Duration::from_secs(part.div_ceil(MIN_RATE))
    }

    /// The settings of the client that moves pack data.
    pub fn for_bulk(&self) -> Settings {
        Settings {
            request_timeout: self.bulk_timeout(),
            ..self.clone()
        }
    }

    /// The longest one small request can keep a command waiting: its
    /// attempts stop starting after `request_timeout`, and the last one
    /// runs for at most that long again (plus backoff).
    pub fn give_up_after(&self) -> Duration {
        2 * self.request_timeout + Duration::from_secs(5)
    }
}

/// A remote chosen for a command, with everything needed to connect.
#[derive(Debug, Clone)]
pub struct ResolvedRemote {
    pub name: String,
    pub url: String,
    pub location: Location,
    pub settings: Settings,
}

fn read_table(path: &Path) -> Result<Option<toml::Table>> {
    match std::fs::read_to_string(path) {
        Ok(t) => toml::from_str(&t).map(Some).map_err(|e| Error::Config {
            path: path.to_path_buf(),
            source: Box::new(e),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read config", path, e)),
    }
}

fn bad(key: &'static str, value: &toml::Value, reason: &'static str) -> Error {
    Error::ConfigValue {
        key,
        value: value.to_string(),
        reason,
    }
}

fn apply(s: &mut Settings, url: &mut Option<String>, t: &toml::Table) -> Result<()> {
    for (k, v) in t {
        match k.as_str() {
            "url" => {
                *url = Some(
                    v.as_str()
                        .ok_or_else(|| bad("remote.<name>.url", v, "must be a string"))?
                        .to_string(),
                )
            }
            "endpoint" => {
                s.endpoint = Some(
                    v.as_str()
                        .ok_or_else(|| bad("remote.<name>.endpoint", v, "must be a string"))?
                        .to_string(),
                )
            }
            "region" => {
                s.region = Some(
                    v.as_str()
                        .ok_or_else(|| bad("remote.<name>.region", v, "must be a string"))?
                        .to_string(),
                )
            }
            "allow_http" => {
                s.allow_http =
                    Some(v.as_bool().ok_or_else(|| {
                        bad("remote.<name>.allow_http", v, "must be true or false")
                    })?)
            }
            "skip_signature" => {
                s.skip_signature = v.as_bool().ok_or_else(|| {
                    bad("remote.<name>.skip_signature", v, "must be true or false")
                })?
            }
            "connect_timeout" | "request_timeout" => {
                let d = v.as_str().and_then(parse_duration).filter(|d| !d.is_zero());
                let d = d.ok_or_else(|| {
                    bad(
                        "remote.<name>.*_timeout",
                        v,
                        "use a duration such as \"5s\" or \"2m\"",
                    )
                })?;
                if k == "connect_timeout" {
                    s.connect_timeout = d;
                } else {
                    s.request_timeout = d;
                }
            }
            "retries" => {
                s.retries = v
                    .as_integer()
                    .filter(|n| (0..=20).contains(n))
                    .ok_or_else(|| bad("remote.<name>.retries", v, "must be 0 to 20"))?
                    as usize
            }
            _ => {}
        }
    }
    Ok(())
}

/// Resolve the remote to use: `requested` (a `-r` flag), else
/// `CAIRN_REMOTE`, else the configured default.
pub fn resolve(cairn_dir: &Path, base: &Path, requested: Option<&str>) -> Result<ResolvedRemote> {
    let layers = [
        user_config_path(),
        Some(cairn_dir.join("config.toml")),
        Some(cairn_dir.join("config.local.toml")),
    ];
    let mut tables = Vec::new();
    for p in layers.into_iter().flatten() {
        if let Some(t) = read_table(&p)? {
            if let Some(toml::Value::Table(r)) = t.get("remote") {
                tables.push(r.clone());
            }
        }
    }
    let env = std::env::var("CAIRN_REMOTE").ok().filter(|v| !v.is_empty());
    let name = match requested.map(str::to_string).or(env) {
        Some(n) => n,
        None => {
            let default = tables
                .iter()
                .rev()
                .find_map(|t| t.get("default").and_then(|v| v.as_str()));
            match default {
                Some(d) => d.to_string(),
                None => return Err(Error::NoRemote),
            }
        }
    };
    let mut settings = Settings::default();
    let mut url = None;
    for t in &tables {
        if let Some(toml::Value::Table(sub)) = t.get(&name) {
            apply(&mut settings, &mut url, sub)?;
        }
    }
    let url = url.ok_or_else(|| Error::UnknownRemote { name: name.clone() })?;
    Ok(ResolvedRemote {
        location: parse_url(&url, base)?,
        name,
        url,
        settings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_bound_a_request_in_seconds_and_let_a_slow_part_through() {
        let s = Settings::default();
        assert!(s.give_up_after() <= Duration::from_secs(60));
        // 24 MiB (the largest single upload) at 128 KiB/s fits.
        let slow = Duration::from_secs((24 << 20) / (128 << 10));
        assert!(s.bulk_timeout() >= slow);
        assert_eq!(s.for_bulk().request_timeout, s.bulk_timeout());
    }

    #[test]
    fn layers_merge_key_by_key() {
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path();
        std::fs::write(
            c.join("config.toml"),
            "[remote]\ndefault = \"origin\"\n[remote.origin]\nurl = \"s3://b/p\"\nregion = \"eu-west-1\"\n",
        )
        .unwrap();
        std::fs::write(
            c.join("config.local.toml"),
            "[remote.origin]\nendpoint = \"http://127.0.0.1:9000\"\nallow_http = true\nconnect_timeout = \"2s\"\n",
        )
        .unwrap();
        let r = resolve(c, c, None).unwrap();
        assert_eq!(r.name, "origin");
        assert_eq!(r.settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            r.settings.endpoint.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(r.settings.allow_http, Some(true));
        assert_eq!(r.settings.connect_timeout, Duration::from_secs(2));
        assert!(matches!(
            resolve(c, c, Some("nope")),
            Err(Error::UnknownRemote { .. })
        ));
        std::fs::write(
            c.join("config.local.toml"),
            "[remote.origin]\nretries = 99\n",
        )
        .unwrap();
        assert!(matches!(
            resolve(c, c, None),
            Err(Error::ConfigValue { .. })
        ));
        std::fs::write(c.join("config.toml"), "[core]\nformat = 1\n").unwrap();
        std::fs::remove_file(c.join("config.local.toml")).unwrap();
        assert!(matches!(resolve(c, c, None), Err(Error::NoRemote)));
    }
}
