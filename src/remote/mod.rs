//! Remotes: where packs are pushed to and fetched from.
//!
//! A remote is a name and a URL, kept in the committed `.cairn/config.toml`
//! so that a fresh clone knows where its data lives. Credentials never go
//! there: they come from the environment and the provider's usual chain
//! (and local overrides from the uncommitted `config.local.toml`). This
//! module parses and validates remote URLs and edits the `[remote.*]`
//! tables without disturbing anything else in the file (comments, order,
//! other keys). [`settings`] resolves a remote across config layers,
//! [`listing`] lists them all,
//! [`backend`] connects to it through `object_store`, [`folder`] is the
//! direct way to a folder remote, [`index`] is the format of the remote's
//! index files, [`locator`] that of per-root locators and [`notes`] that
//! of the notes beside the index files. Transfers live
//! in `transfer`.

use std::path::{Path, PathBuf};

use toml_edit::{value, DocumentMut, Item, Table};

use crate::error::{Error, Result};

/// Packs at least this large are uploaded in parts (multipart uploads);
/// part of how to talk to an object store, so the connection's time
/// bounds (`settings`) and the transfers agree on it.
pub const MULTIPART_MIN: u64 = 24 << 20;
/// Size of one part of a multipart upload (and of one read while sending).
pub const PART: usize = 16 << 20;

pub mod backend;
mod copies;
pub mod folder;
pub mod foreign_store;
pub mod index;
pub mod layers;
pub mod listing;
pub mod locator;
pub mod notes;
pub mod profile;
pub mod settings;
pub mod synth;
pub use crate::redact::redact;
pub use layers::{CommittedConfig, NoHistory};
pub use settings::{resolve, ResolvedRemote, Settings};

/// Where a remote's objects live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// A directory on this machine (a path or a `file://` URL).
    Folder(PathBuf),
    /// `s3://bucket/prefix`: AWS or any S3-compatible server.
    S3 { bucket: String, prefix: String },
    /// `gs://bucket/prefix`.
    Gcs { bucket: String, prefix: String },
    /// `az://container/prefix`.
    Azure { container: String, prefix: String },
    /// `http(s)://…`, read-only.
    Http(String),
}

impl Location {
    /// The location as one canonical URL (`file:///abs/path`,
    /// `s3://bucket/prefix`, `gs://…`, `az://…`, or the http URL): the
    /// defined form that local caches of a remote are keyed by, so a renamed
    /// remote (or a change to this type) keeps its cache.
    pub fn canonical(&self) -> String {
        let join = |scheme: &str, root: &str, prefix: &str| {
            if prefix.is_empty() {
                format!("{scheme}://{root}")
            } else {
                format!("{scheme}://{root}/{prefix}")
            }
        };
        match self {
            Location::Folder(p) => format!("file://{}", p.display()),
            Location::S3 { bucket, prefix } => join("s3", bucket, prefix),
            Location::Gcs { bucket, prefix } => join("gs", bucket, prefix),
            Location::Azure { container, prefix } => join("az", container, prefix),
            Location::Http(url) => url.clone(),
        }
    }
}

/// One configured remote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub name: String,
    pub url: String,
    pub location: Location,
}

fn bad(url: &str, reason: &'static str) -> Error {
    Error::BadRemoteUrl {
        url: redact(url),
        reason,
    }
}

fn bucket_and_prefix(url: &str, rest: &str) -> Result<(String, String)> {
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return Err(bad(url, "the bucket or container name is missing"));
    }
    if !bucket.bytes().all(|b| {
        b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.' || b == b'_'
    }) {
        return Err(bad(
            url,
            "bucket and container names use lowercase letters, digits, '-', '.' and '_'",
        ));
    }
    Ok((bucket.to_string(), prefix.trim_matches('/').to_string()))
}

/// Parse a remote URL. Relative folder paths are resolved against `base`
/// (the repository root) when used, but kept as written in the config.
pub fn parse_url(url: &str, base: &Path) -> Result<Location> {
    if url.is_empty() {
        return Err(bad(url, "the URL is empty"));
    }
    if let Some((scheme, rest)) = url.split_once("://") {
        // Checked before any bucket naming rule, so the refusal says why.
        if matches!(scheme, "s3" | "gs" | "az")
            && rest
                .split('/')
                .next()
                .is_some_and(|host| host.contains('@'))
        {
            return Err(bad(url, "credentials do not belong in a remote URL"));
        }
        return match scheme {
            "file" => {
                if !rest.starts_with('/') {
                    return Err(bad(url, "a file:// URL needs an absolute path"));
                }
                Ok(Location::Folder(PathBuf::from(rest)))
            }
            "s3" => {
                bucket_and_prefix(url, rest).map(|(bucket, prefix)| Location::S3 { bucket, prefix })
            }
            "gs" => bucket_and_prefix(url, rest)
                .map(|(bucket, prefix)| Location::Gcs { bucket, prefix }),
            "az" => bucket_and_prefix(url, rest)
                .map(|(container, prefix)| Location::Azure { container, prefix }),
            "http" | "https" => {
                if rest.is_empty() {
                    return Err(bad(url, "the host is missing"));
                }
                if rest
                    .split('/')
                    .next()
                    .is_some_and(|host| host.contains('@'))
                {
                    return Err(bad(url, "credentials do not belong in a remote URL"));
                }
                Ok(Location::Http(url.to_string()))
            }
            _ => Err(bad(
                url,
                "unknown scheme; use a path, file://, s3://, gs://, az:// or http(s)://",
            )),
        };
    }
    let p = Path::new(url);
    Ok(Location::Folder(if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    }))
}

/// An endpoint goes in the committed config: it must be an http(s) URL
/// without credentials.
pub fn check_endpoint(url: &str) -> Result<()> {
    let Some((scheme, rest)) = url.split_once("://") else {
        return Err(bad(url, "an endpoint is an http:// or https:// URL"));
    };
    if scheme != "http" && scheme != "https" {
        return Err(bad(url, "an endpoint is an http:// or https:// URL"));
    }
    if rest
        .split('/')
        .next()
        .is_some_and(|host| host.contains('@'))
    {
        return Err(bad(url, "credentials do not belong in a remote URL"));
    }
    Ok(())
}

/// Remote names are used in config keys and messages: keep them simple.
fn check_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name != "default"
        && name.len() <= 64
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.');
    if ok {
        Ok(())
    } else {
        Err(Error::BadRemoteName {
            name: name.to_string(),
        })
    }
}

/// A config file (the committed one, or the local one), for editing.
pub struct RemoteConfig {
    path: PathBuf,
    doc: DocumentMut,
    /// Whether the first remote added becomes the default. Off for the
    /// local file when another layer already names a default, so that a
    /// private remote does not silently take over.
    pub auto_default: bool,
}

impl RemoteConfig {
    pub fn load(path: &Path) -> Result<RemoteConfig> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io("read config", path, e))?;
        Self::parse(path, &text)
    }

    /// [`RemoteConfig::load`], starting empty when the file does not exist
    /// (the uncommitted `config.local.toml`).
    pub fn load_or_new(path: &Path) -> Result<RemoteConfig> {
        match std::fs::read_to_string(path) {
            Ok(text) => Self::parse(path, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::parse(path, ""),
            Err(e) => Err(Error::io("read config", path, e)),
        }
    }

    fn parse(path: &Path, text: &str) -> Result<RemoteConfig> {
        let doc = text.parse::<DocumentMut>().map_err(|e| Error::ConfigEdit {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
        Ok(RemoteConfig {
            path: path.to_path_buf(),
            doc,
            auto_default: true,
        })
    }

    /// Whether the file defines a remote called `name`.
    pub fn has(&self, name: &str) -> bool {
        self.remotes_table()
            .and_then(|t| t.get(name))
            .is_some_and(Item::is_table)
    }

    fn remotes_table(&self) -> Option<&Table> {
        self.doc.get("remote").and_then(Item::as_table)
    }

    /// The configured remotes, in file order, with their URLs parsed.
    pub fn list(&self, base: &Path) -> Result<Vec<Remote>> {
        self.list_each(base)?
            .into_iter()
            .map(|(name, url, location)| {
                location.map(|location| Remote {
                    name,
                    url,
                    location,
                })
            })
            .collect()
    }

    /// Every remote with its URL (redacted) and, separately, whether that
    /// URL is valid, so that one bad entry does not hide the others.
    pub fn list_each(&self, base: &Path) -> Result<Vec<(String, String, Result<Location>)>> {
        let mut out = Vec::new();
        if let Some(t) = self.remotes_table() {
            for (name, item) in t.iter() {
                let Some(sub) = item.as_table() else { continue };
                let url =
                    sub.get("url")
                        .and_then(Item::as_str)
                        .ok_or_else(|| Error::ConfigValue {
                            key: "remote.<name>.url",
                            value: name.to_string(),
                            reason: "every remote needs a url",
                        })?;
                out.push((name.to_string(), redact(url), parse_url(url, base)));
            }
        }
        Ok(out)
    }

    /// The default remote's name, if one is set.
    pub fn default_remote(&self) -> Option<String> {
        self.remotes_table()
            .and_then(|t| t.get("default"))
            .and_then(Item::as_str)
            .map(str::to_string)
    }

    pub fn add(&mut self, name: &str, url: &str, base: &Path, make_default: bool) -> Result<()> {
        self.add_with(name, url, base, make_default, &[])
    }

    /// [`RemoteConfig::add`] with connection settings (`endpoint`,
    /// `region`, …) written beside the URL. Credentials are not settings
    /// and cannot be given here.
    pub fn add_with(
        &mut self,
        name: &str,
        url: &str,
        base: &Path,
        make_default: bool,
        settings: &[(&str, toml_edit::Value)],
    ) -> Result<()> {
        check_name(name)?;
        parse_url(url, base)?;
        let remotes = self.doc.entry("remote").or_insert_with(|| {
            let mut t = Table::new();
            t.set_implicit(true);
            Item::Table(t)
        });
        let Some(remotes) = remotes.as_table_mut() else {
            return Err(Error::ConfigValue {
                key: "remote",
                value: String::new(),
                reason: "must be a table",
            });
        };
        if remotes.get(name).is_some_and(Item::is_table) {
            return Err(Error::RemoteExists {
                name: name.to_string(),
            });
        }
        let mut t = Table::new();
        t.insert("url", value(url));
        for (k, v) in settings {
            t.insert(k, Item::Value(v.clone()));
        }
        remotes.insert(name, Item::Table(t));
        if make_default || (self.auto_default && self.default_remote().is_none()) {
            self.set_default(Some(name));
        }
        Ok(())
    }

    fn set_default(&mut self, name: Option<&str>) {
        if let Some(remotes) = self.doc.get_mut("remote").and_then(Item::as_table_mut) {
            match name {
                Some(n) => {
                    remotes.insert("default", value(n));
                    // Keep `default = …` above the per-remote tables.
                    remotes.sort_values_by(|a, _, b, _| {
                        (a.get() != "default").cmp(&(b.get() != "default"))
                    });
                }
                None => {
                    remotes.remove("default");
                }
            }
        }
    }

    pub fn remove(&mut self, name: &str) -> Result<()> {
        let removed = self
            .doc
            .get_mut("remote")
            .and_then(Item::as_table_mut)
            .and_then(|t| t.remove(name))
            .is_some();
        if !removed {
            return Err(Error::UnknownRemote {
                name: name.to_string(),
            });
        }
        if self.default_remote().as_deref() == Some(name) {
            self.set_default(None);
        }
        Ok(())
    }

    /// Write the file back atomically.
    pub fn save(&self) -> Result<()> {
        crate::durable::write_atomic(&self.path, self.doc.to_string().as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_keys_come_from_a_defined_canonical_url() {
        let base = std::path::Path::new("/repo");
        for (url, canonical) in [
            ("s3://b/p/q", "s3://b/p/q"),
            ("s3://b", "s3://b"),
            ("gs://b/x", "gs://b/x"),
            ("az://c/x", "az://c/x"),
            ("/srv/store", "file:///srv/store"),
        ] {
            assert_eq!(
                parse_url(url, base).unwrap().canonical(),
                canonical,
                "{url}"
            );
        }
    }

    #[test]
    fn urls() {
        let base = Path::new("/repo");
        assert_eq!(
            parse_url("../store", base).unwrap(),
            Location::Folder("/repo/../store".into())
        );
        assert_eq!(
            parse_url("file:///srv/x", base).unwrap(),
            Location::Folder("/srv/x".into())
        );
        assert_eq!(
            parse_url("s3://my-bucket/team/data/", base).unwrap(),
            Location::S3 {
                bucket: "my-bucket".into(),
                prefix: "team/data".into()
            }
        );
        assert!(matches!(
            parse_url("gs://b", base).unwrap(),
            Location::Gcs { .. }
        ));
        assert!(matches!(
            parse_url("az://c/p", base).unwrap(),
            Location::Azure { .. }
        ));
        assert!(matches!(
            parse_url("https://h/x", base).unwrap(),
            Location::Http(_)
        ));
        for bad in [
            "",
            "s3://",
            "s3://Upper",
            "ftp://x",
            "file://rel",
            "https://user:pw@h/x",
        ] {
            assert!(parse_url(bad, base).is_err(), "{bad}");
        }
    }

    #[test]
    fn secrets_are_redacted() {
        assert_eq!(redact("https://u:pw@host/x@y"), "https://***@host/x@y");
        assert_eq!(redact("s3://bucket/a@b"), "s3://bucket/a@b");
        assert_eq!(redact("../p@q"), "../p@q");
        let e = parse_url("https://me:hunter2@h/x", Path::new("/")).unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn names() {
        assert!(check_name("origin").is_ok());
        assert!(check_name("team-s3_2").is_ok());
        for bad in ["", "default", "a b", "x/y", "ü"] {
            assert!(check_name(bad).is_err(), "{bad}");
        }
    }
}
