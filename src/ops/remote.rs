//! `remote add / list / remove`: the places data is pushed to, as the
//! config files name them.
//!
//! A remote lives in the committed `.cairn/config.toml` (so every clone
//! knows it) or, with `local`, in the uncommitted `.cairn/config.local.toml`
//! (this clone only). Edits are made under the work tree's lock and keep
//! the file's comments and layout; a bad name, URL or endpoint is refused
//! before anything is written. The first remote added becomes the default,
//! except that a private remote never takes over from a default another
//! layer already names. A listing never stops at a broken entry: it flags
//! it and lists the rest, because a listing is where a user goes to find
//! the problem.

use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::error::{Error, Result};
use crate::remote::listing::Listed;
use crate::remote::settings::Layer;
use crate::remote::RemoteConfig;

use super::Session;

const COMMITTED_CONFIG: &str = "config.toml";
const LOCAL_CONFIG: &str = "config.local.toml";

/// A remote to add.
#[derive(Debug, Clone, Default)]
pub struct AddOptions {
    /// Its name, such as `origin`.
    pub name: String,
    /// Where its data lives: a path, `file://`, `s3://`, `gs://`, `az://`
    /// or `http(s)://`.
    pub url: String,
    /// Make it the default remote (the first one added always is).
    pub default: bool,
    /// An S3-compatible endpoint (MinIO, Garage, R2).
    pub endpoint: Option<String>,
    pub region: Option<String>,
    /// Allow a plain-http endpoint.
    pub allow_http: bool,
    /// Write it to the uncommitted `config.local.toml` instead.
    pub local: bool,
}

/// What `remote add` wrote.
#[derive(Debug, Clone, Serialize)]
pub struct AddReport {
    pub name: String,
    /// The URL as written to the config (credentials are refused, so it
    /// is safe to show).
    pub url: String,
    /// Whether it is now the default remote of the file it went to.
    pub default: bool,
    /// Whether it went to the uncommitted `config.local.toml`.
    pub local: bool,
    /// The config file written.
    pub config: PathBuf,
}

/// What `remote remove` changed.
#[derive(Debug, Clone, Serialize)]
pub struct RemoveReport {
    pub name: String,
    /// Whether it was removed from the uncommitted `config.local.toml`
    /// (the committed config did not have it).
    pub local: bool,
    /// The config file written.
    pub config: PathBuf,
}

/// Every remote of every config layer (what `remote list --json` prints).
#[derive(Debug, Clone, Serialize)]
pub struct RemoteList {
    pub remotes: Vec<ListedRemote>,
}

/// One row of a listing. The fields are in alphabetical order because
/// that is the order `remote list --json` has always printed them in.
#[derive(Debug, Clone, Serialize)]
pub struct ListedRemote {
    /// Whether commands use this remote by default.
    pub default: bool,
    /// Why the entry (or its whole file) cannot be used, if it cannot.
    pub error: Option<String>,
    /// The config layer it comes from (`user`, `committed`, `local`,
    /// `default-branch`).
    #[serde(serialize_with = "layer_name")]
    pub layer: Layer,
    /// Empty when a whole file is broken.
    pub name: String,
    /// The file (or branch) it was read from.
    pub source: String,
    /// Its URL, with any credentials redacted; `None` without a usable one.
    pub url: Option<String>,
}

fn layer_name<S: Serializer>(layer: &Layer, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(layer.name())
}

impl From<Listed> for ListedRemote {
    fn from(r: Listed) -> Self {
        ListedRemote {
            default: r.default,
            error: r.problem,
            layer: r.layer,
            name: r.name,
            source: r.origin,
            url: r.url,
        }
    }
}

impl RemoteList {
    /// Whether some entry is broken (listed with its `error`).
    pub fn has_invalid(&self) -> bool {
        self.remotes.iter().any(|r| r.error.is_some())
    }
}

/// Add a remote to the committed config (or, with `local`, to this clone's
/// uncommitted one).
///
/// ```no_run
/// use std::path::Path;
///
/// use cairn::ops::{remote, Session};
///
/// let s = Session::open(Path::new("."))?;
/// let added = remote::add(
///     &s,
///     remote::AddOptions {
///         name: "origin".into(),
///         url: "s3://team-bucket/datasets".into(),
///         ..Default::default()
///     },
/// )?;
/// assert!(added.default, "the first remote added is the default");
/// for r in remote::list(&s).remotes {
///     println!("{} {:?} ({})", r.name, r.url, r.layer.name());
/// }
/// remote::remove(&s, "origin")?;
/// # Ok::<(), cairn::Error>(())
/// ```
pub fn add(s: &Session, opts: AddOptions) -> Result<AddReport> {
    let ws = s.workspace();
    s.lock()?;
    let path = ws.cairn_dir().join(if opts.local {
        LOCAL_CONFIG
    } else {
        COMMITTED_CONFIG
    });
    let mut cfg = if opts.local {
        let mut c = RemoteConfig::load_or_new(&path)?;
        // A default named elsewhere (even one that names no remote) stays
        // the default: a private remote must not silently take over.
        c.auto_default = !matches!(s.remote(None), Ok(_) | Err(Error::UnknownRemote { .. }));
        c
    } else {
        RemoteConfig::load(&path)?
    };
    let mut settings: Vec<(&str, toml_edit::Value)> = Vec::new();
    if let Some(e) = opts.endpoint {
        crate::remote::check_endpoint(&e)?;
        settings.push(("endpoint", e.into()));
    }
    if let Some(r) = opts.region {
        settings.push(("region", r.into()));
    }
    if opts.allow_http {
        settings.push(("allow_http", true.into()));
    }
    cfg.add_with(&opts.name, &opts.url, ws.root(), opts.default, &settings)?;
    cfg.save()?;
    Ok(AddReport {
        default: cfg.default_remote().as_deref() == Some(opts.name.as_str()),
        name: opts.name,
        url: opts.url,
        local: opts.local,
        config: path,
    })
}

/// Every remote of every config layer, broken entries flagged rather than
/// failing the listing.
pub fn list(s: &Session) -> RemoteList {
    RemoteList {
        remotes: s.remotes().into_iter().map(ListedRemote::from).collect(),
    }
}

/// Remove a remote from the committed config, or from the local one if
/// only that has it. Its stored data is not touched.
pub fn remove(s: &Session, name: &str) -> Result<RemoveReport> {
    let ws = s.workspace();
    s.lock()?;
    let mut path = ws.cairn_dir().join(COMMITTED_CONFIG);
    let mut cfg = RemoteConfig::load(&path)?;
    let mut local = false;
    if !cfg.has(name) {
        let local_path = ws.cairn_dir().join(LOCAL_CONFIG);
        let l = RemoteConfig::load_or_new(&local_path)?;
        if l.has(name) {
            (cfg, path, local) = (l, local_path, true);
        }
    }
    cfg.remove(name)?;
    cfg.save()?;
    Ok(RemoveReport {
        name: name.to_string(),
        local,
        config: path,
    })
}
