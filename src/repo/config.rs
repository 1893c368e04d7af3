//! Configuration, read in layers like cargo's.
//!
//! Later layers win: built-in defaults, the user's file
//! (`$XDG_CONFIG_HOME/cairn/config.toml`), the committed repository file
//! (`.cairn/config.toml`), the uncommitted local file
//! (`.cairn/config.local.toml`), then environment variables. Flags are
//! applied by the CLI on top. Unknown keys are ignored (and reported in [`Config::unknown_keys`]) so that a repository
//! configured by a newer cairn still opens; wrong types are errors.
//!
//! `cache.dir` decides where cairn writes packs and takes a lock, so it is
//! read only from layers the user controls (the user file, the local file,
//! `CAIRN_CACHE_DIR`). A value in the committed file, which any collaborator
//! can change, is ignored and reported as [`Config::ignored_cache_dir`] so
//! the CLI can say where the setting belongs.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;

use super::config_edit::FileUnknown;
use super::config_keys::unknown_in;
use crate::error::{Error, Result};

/// The settings cairn reads today.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Config {
    /// Where the content store lives; relative paths are relative to the
    /// repository root. Default: `.cairn/cache`.
    pub cache_dir: Option<PathBuf>,
    /// How old an unreferenced pack must be before `gc` may delete it, as
    /// text like `1d` or `12h`. Default: one day.
    pub gc_grace: Option<String>,
    /// Requests a transfer keeps in flight at once (`transfer.jobs`,
    /// 1..=[`MAX_JOBS`]); default: 4 uploads and 8 downloads.
    pub transfer_jobs: Option<usize>,
    /// A `cache.dir` found in the committed `.cairn/config.toml` and
    /// ignored: a committed file must not choose where a teammate's cairn
    /// writes.
    pub ignored_cache_dir: Option<IgnoredSetting>,
    /// Keys of any file that cairn does not know (typos, or a newer
    /// cairn's), each with the known key it most likely meant. They are
    /// ignored; the CLI warns about them once per command.
    pub unknown_keys: Vec<FileUnknown>,
}

/// A setting that was present but deliberately not applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IgnoredSetting {
    /// The file it was read from.
    pub file: PathBuf,
    /// The value as written.
    pub value: PathBuf,
}

impl std::fmt::Display for IgnoredSetting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ignoring cache.dir = {:?} in the committed {}: a committed file may not choose where cairn writes; put it in .cairn/config.local.toml, the user config or CAIRN_CACHE_DIR",
            self.value.display().to_string(),
            self.file.display()
        )
    }
}

#[derive(Debug, Default, Deserialize)]
struct Layer {
    #[serde(default)]
    core: CoreLayer,
    #[serde(default)]
    cache: CacheLayer,
    #[serde(default)]
    gc: GcLayer,
    #[serde(default)]
    transfer: TransferLayer,
}

#[derive(Debug, Default, Deserialize)]
struct TransferLayer {
    jobs: Option<i64>,
}

/// The most requests in flight that `transfer.jobs` (and `-j`) may ask
/// for: each holds up to one 16 MiB part in memory.
pub const MAX_JOBS: usize = 64;

#[derive(Debug, Default, Deserialize)]
struct GcLayer {
    grace: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
struct CoreLayer {
    format: Option<i64>,
}

/// The repository format this build reads and writes.
pub const FORMAT: u32 = 1;

#[derive(Debug, Default, Deserialize)]
struct CacheLayer {
    dir: Option<PathBuf>,
}

/// A file's known settings and its unknown keys.
fn read_layer(path: &Path) -> Result<Option<(Layer, Vec<FileUnknown>)>> {
    let Some(table) = super::config_edit::read(path)? else {
        return Ok(None);
    };
    let unknown = unknown_in(&table)
        .into_iter()
        .map(|unknown| FileUnknown {
            file: path.to_path_buf(),
            unknown,
        })
        .collect();
    let layer = toml::Value::Table(table)
        .try_into()
        .map_err(|e| Error::Config {
            path: path.to_path_buf(),
            source: Box::new(e),
        })?;
    Ok(Some((layer, unknown)))
}

/// The user-level config file, if a home or XDG directory is known.
pub fn user_config_path() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(x).join("cairn/config.toml"));
    }
    std::env::var_os("HOME")
        .filter(|v| !v.is_empty())
        .map(|h| PathBuf::from(h).join(".config/cairn/config.toml"))
}

impl Config {
    /// Load every layer for the repository whose `.cairn` directory is given.
    pub fn load(cairn_dir: &Path) -> Result<Config> {
        let mut cfg = Config::default();
        let committed = cairn_dir.join("config.toml");
        let files = [
            user_config_path(),
            Some(committed.clone()),
            Some(cairn_dir.join("config.local.toml")),
        ];
        for path in files.into_iter().flatten() {
            if let Some((layer, unknown)) = read_layer(&path)? {
                cfg.unknown_keys.extend(unknown);
                if let Some(f) = layer.core.format {
                    if f != FORMAT as i64 {
                        return Err(Error::UnsupportedFormat {
                            found: f,
                            supported: FORMAT,
                        });
                    }
                }
                if let Some(g) = layer.gc.grace {
                    cfg.gc_grace = Some(g);
                }
                if let Some(j) = layer.transfer.jobs {
                    cfg.transfer_jobs = Some(jobs(j)?);
                }
                if let Some(d) = layer.cache.dir {
                    if path == committed {
                        cfg.ignored_cache_dir = Some(IgnoredSetting {
                            file: path.clone(),
                            value: d,
                        });
                    } else {
                        cfg.cache_dir = Some(d);
                    }
                }
            }
        }
        if let Some(d) = std::env::var_os("CAIRN_CACHE_DIR").filter(|v| !v.is_empty()) {
            cfg.cache_dir = Some(PathBuf::from(d));
        }
        Ok(cfg)
    }
}

/// A `transfer.jobs` value, checked against 1..=[`MAX_JOBS`].
fn jobs(value: i64) -> Result<usize> {
    usize::try_from(value)
        .ok()
        .filter(|n| (1..=MAX_JOBS).contains(n))
        .ok_or_else(|| Error::ConfigValue {
            key: "transfer.jobs",
            value: value.to_string(),
            reason: "expected a number from 1 to 64",
        })
}

/// The committed config written by `cairn init`.
pub const INITIAL_CONFIG: &str = "\
# cairn repository configuration (committed). See docs/FORMAT.md.
[core]
format = 1

# A shared cache (cache.dir) is set in .cairn/config.local.toml, the user
# config or CAIRN_CACHE_DIR, never here: a committed value is ignored.
";

/// Parse a duration (a grace period, a timeout): a number with an optional unit `s`, `m`, `h`, `d`
/// or `w` (seconds when none).
pub fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = match s.find(|c: char| !c.is_ascii_digit()) {
        Some(i) => s.split_at(i),
        None => (s, "s"),
    };
    let n: u64 = num.parse().ok()?;
    let secs = match unit.trim() {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 604_800,
        _ => return None,
    };
    n.checked_mul(secs).map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_layer_wins_and_bad_types_fail() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), INITIAL_CONFIG).unwrap();
        assert_eq!(Config::load(dir.path()).unwrap().cache_dir, None);
        std::fs::write(
            dir.path().join("config.local.toml"),
            "[cache]\ndir = \"/x\"\n",
        )
        .unwrap();
        assert_eq!(
            Config::load(dir.path()).unwrap().cache_dir,
            Some(PathBuf::from("/x"))
        );
        std::fs::write(dir.path().join("config.local.toml"), "[cache]\ndir = 3\n").unwrap();
        assert!(matches!(
            Config::load(dir.path()),
            Err(Error::Config { .. })
        ));
    }

    #[test]
    fn committed_cache_dir_is_ignored_and_reported() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "[cache]\ndir = \"/evil\"\n").unwrap();
        let cfg = Config::load(dir.path()).unwrap();
        assert_eq!(cfg.cache_dir, None);
        assert!(cfg.unknown_keys.is_empty());
        let ignored = cfg.ignored_cache_dir.expect("reported");
        assert_eq!(ignored.value, PathBuf::from("/evil"));
        assert!(ignored.to_string().contains("config.local.toml"));
        std::fs::write(
            dir.path().join("config.local.toml"),
            "[cache]\ndir = \"/mine\"\n",
        )
        .unwrap();
        assert_eq!(
            Config::load(dir.path()).unwrap().cache_dir,
            Some(PathBuf::from("/mine"))
        );
    }

    #[test]
    fn transfer_jobs_is_read_in_layers_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("config.toml"), "[transfer]\njobs = 2\n").unwrap();
        assert_eq!(Config::load(dir.path()).unwrap().transfer_jobs, Some(2));
        let local = dir.path().join("config.local.toml");
        std::fs::write(&local, "[transfer]\njobs = 64\n").unwrap();
        assert_eq!(Config::load(dir.path()).unwrap().transfer_jobs, Some(64));
        for bad in ["0", "65", "-3"] {
            std::fs::write(&local, format!("[transfer]\njobs = {bad}\n")).unwrap();
            assert!(
                matches!(
                    Config::load(dir.path()),
                    Err(Error::ConfigValue {
                        key: "transfer.jobs",
                        ..
                    })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn unknown_keys_are_reported_with_their_file_and_the_rest_still_loads() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("config.local.toml"),
            "[gc]\ngrase = \"2d\"\n[cache]\ndir = \"/x\"\n",
        )
        .unwrap();
        let cfg = Config::load(dir.path()).unwrap();
        assert_eq!(cfg.cache_dir, Some(PathBuf::from("/x")));
        assert_eq!(cfg.unknown_keys.len(), 1);
        let u = &cfg.unknown_keys[0];
        assert_eq!(u.file, dir.path().join("config.local.toml"));
        assert_eq!(u.unknown.suggestion.as_deref(), Some("gc.grace"));
        assert!(u.to_string().contains("did you mean `gc.grace`?"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("90"), Some(Duration::from_secs(90)));
        assert_eq!(parse_duration("12h"), Some(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("1d"), Some(Duration::from_secs(86_400)));
        assert_eq!(parse_duration("2w"), Some(Duration::from_secs(1_209_600)));
        assert_eq!(parse_duration("1y"), None);
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration("-1d"), None);
    }
}
