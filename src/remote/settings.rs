//! Which remote a command uses and how to reach it, resolved from every
//! config layer.
//!
//! `[remote.NAME]` tables may appear in the user config, the committed repo
//! config and the uncommitted local config; later layers win key by key, so
//! a developer can point a shared remote at a local MinIO in
//! `config.local.toml` without touching the committed file. Only connection
//! settings live here; credentials never do (they come from the provider's
//! environment and chain). When the work tree's layers name no remote and
//! its committed file is the one `HEAD` commits (an old commit, made before
//! `cairn remote add`), the committed file on the tip of the default branch
//! stands in for it (FORMAT.md §8.1). `-r` also takes a URL or path.

use std::path::Path;
use std::time::Duration;

pub use super::layers::Layer;
use super::layers::{
    committed_as_at_head, default_branch_layer, work_tree_layers, CommittedConfig, LayerTable,
};
use super::{parse_url, Location};
use crate::error::{Error, Result};
use crate::repo::config::parse_duration;

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
        let part = super::MULTIPART_MIN.max(super::PART as u64);
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
    /// Where the URL came from.
    pub layer: Layer,
    /// For [`Layer::DefaultBranch`], the branch read (`origin/HEAD`, `main` …).
    pub branch: Option<String>,
}

/// Whether `-r VALUE` is a URL or path rather than a remote name: names
/// never contain `/` or `:` (see `check_name`).
pub fn is_url(value: &str) -> bool {
    value.contains('/') || value.contains(':') || value == "." || value == ".."
}

fn bad(key: &'static str, value: &toml::Value, reason: &'static str) -> Error {
    Error::ConfigValue {
        key,
        value: value.to_string(),
        reason,
    }
}

pub(super) fn apply(s: &mut Settings, url: &mut Option<String>, t: &toml::Table) -> Result<()> {
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

/// Resolve the remote to use: `requested` (a `-r` flag: a name, or a URL
/// or path used as is), else `CAIRN_REMOTE`, else the configured default.
///
/// Remotes come from the work tree's layers (user, committed, local). When
/// they name no usable remote (none at all, an unknown name, or a URL that
/// does not parse), for example at a commit made
/// before `cairn remote add` or since moved, the committed config on the tip
/// of the default branch stands in for the work tree's committed file, the
/// user and local layers still applying around it.
pub fn resolve(
    cairn_dir: &Path,
    base: &Path,
    history: &dyn CommittedConfig,
    requested: Option<&str>,
) -> Result<ResolvedRemote> {
    let env = std::env::var("CAIRN_REMOTE").ok().filter(|v| !v.is_empty());
    let requested = requested.map(str::to_string).or(env);
    if let Some(url) = requested.as_deref().filter(|r| is_url(r)) {
        // A configured remote with this very URL lends its settings (an
        // S3 endpoint, timeouts) and its name.
        let tables = work_tree_layers(cairn_dir)?;
        let named = tables.iter().rev().find_map(|t| {
            t.table.iter().find_map(|(name, v)| {
                (v.get("url").and_then(|u| u.as_str()) == Some(url)).then(|| name.clone())
            })
        });
        if let Some(name) = named {
            if let Ok(r) = resolve_in(&tables, Some(&name), base) {
                return Ok(r);
            }
        }
        return Ok(ResolvedRemote {
            location: parse_url(url, base)?,
            name: super::redact(url),
            url: url.to_string(),
            settings: Settings::default(),
            layer: Layer::CommandLine,
            branch: None,
        });
    }
    let tables = work_tree_layers(cairn_dir)?;
    let first = resolve_in(&tables, requested.as_deref(), base);
    // Only a missing remote (or one whose URL does not parse) falls back:
    // a remote that exists but cannot be reached may be new (a folder not
    // created yet) and must not be swapped for another silently.
    if !matches!(
        first,
        Err(Error::NoRemote | Error::UnknownRemote { .. } | Error::BadRemoteUrl { .. })
    ) {
        return first;
    }
    // A config the user has edited (say, `remote remove`) is not an old
    // commit's: it stands. And a default branch that cannot be read
    // (corrupt, partial) is no answer: the work tree's own error is the
    // one to report.
    if !committed_as_at_head(cairn_dir, history) {
        return first;
    }
    let Ok(Some(branch)) = default_branch_layer(history) else {
        return first;
    };
    let branch_name = branch.origin.clone();
    let mut layers: Vec<LayerTable> = tables
        .into_iter()
        .filter(|t| t.layer != Layer::Committed)
        .collect();
    let at = layers
        .iter()
        .position(|t| t.layer == Layer::Local)
        .unwrap_or(layers.len());
    layers.insert(at, branch);
    match resolve_in(&layers, requested.as_deref(), base) {
        Ok(mut r) => {
            if r.layer == Layer::DefaultBranch {
                r.branch = Some(branch_name);
            }
            Ok(r)
        }
        // Report what the work tree says, not what the fallback found.
        Err(_) => first,
    }
}

fn resolve_in(
    tables: &[LayerTable],
    requested: Option<&str>,
    base: &Path,
) -> Result<ResolvedRemote> {
    let name = match requested {
        Some(n) => n.to_string(),
        None => {
            let default = tables
                .iter()
                .rev()
                .find_map(|t| t.table.get("default").and_then(|v| v.as_str()));
            match default {
                Some(d) => d.to_string(),
                None => return Err(Error::NoRemote),
            }
        }
    };
    let mut settings = Settings::default();
    let mut url = None;
    let mut layer = None;
    for t in tables {
        if let Some(toml::Value::Table(sub)) = t.table.get(&name) {
            let before = url.clone();
            apply(&mut settings, &mut url, sub)?;
            if url != before || (layer.is_none() && url.is_some()) {
                layer = Some(t.layer);
            }
        }
    }
    let url = url.ok_or_else(|| Error::UnknownRemote { name: name.clone() })?;
    Ok(ResolvedRemote {
        location: parse_url(&url, base)?,
        name,
        url,
        settings,
        layer: layer.unwrap_or(Layer::Committed),
        branch: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::NoHistory;

    #[test]
    fn a_url_given_as_remote_is_used_as_is_or_lends_a_configured_remotes_settings() {
        for name in ["origin", "team-s3", "a.b_c"] {
            assert!(!is_url(name), "{name}");
        }
        for url in ["../store", "/srv/x", "s3://b/p", "file:///x", "."] {
            assert!(is_url(url), "{url}");
        }
        let dir = tempfile::tempdir().unwrap();
        let c = dir.path();
        std::fs::write(
            c.join("config.toml"),
            "[remote.lab]\nurl = \"s3://b/p\"\nendpoint = \"http://minio:9000\"\n",
        )
        .unwrap();
        let r = resolve(c, c, &NoHistory, Some("s3://b/p")).unwrap();
        assert_eq!(r.name, "lab");
        assert_eq!(r.layer, Layer::Committed);
        assert_eq!(r.settings.endpoint.as_deref(), Some("http://minio:9000"));
        let r = resolve(c, c, &NoHistory, Some("s3://other/q")).unwrap();
        assert_eq!(r.layer, Layer::CommandLine);
        assert_eq!(r.settings, Settings::default());
        let r = resolve(c, c, &NoHistory, Some("../elsewhere")).unwrap();
        assert_eq!(r.location, Location::Folder(c.join("../elsewhere")));
    }

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
        let r = resolve(c, c, &NoHistory, None).unwrap();
        assert_eq!(r.name, "origin");
        assert_eq!(r.settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            r.settings.endpoint.as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(r.settings.allow_http, Some(true));
        assert_eq!(r.settings.connect_timeout, Duration::from_secs(2));
        assert!(matches!(
            resolve(c, c, &NoHistory, Some("nope")),
            Err(Error::UnknownRemote { .. })
        ));
        std::fs::write(
            c.join("config.local.toml"),
            "[remote.origin]\nretries = 99\n",
        )
        .unwrap();
        assert!(matches!(
            resolve(c, c, &NoHistory, None),
            Err(Error::ConfigValue { .. })
        ));
        std::fs::write(c.join("config.toml"), "[core]\nformat = 1\n").unwrap();
        std::fs::remove_file(c.join("config.local.toml")).unwrap();
        assert!(matches!(
            resolve(c, c, &NoHistory, None),
            Err(Error::NoRemote)
        ));
    }
}
