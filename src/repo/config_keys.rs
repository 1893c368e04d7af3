//! Every configuration key cairn knows, in one table (FORMAT.md §8.1), so
//! that reading, `cairn config` and the unknown-key warnings agree.
//!
//! A value given on the command line is parsed to the key's type and
//! checked with the same rules the readers apply, before any file is
//! written. A key that is not in the table is unknown: files that hold one
//! still load (a newer cairn may have written it), and the closest known
//! key is offered as the likely intended one.

use crate::error::{Error, Result};

/// The type of a key's value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Any non-empty string.
    Text,
    /// A path (a non-empty string).
    Path,
    /// `true` or `false`.
    Bool,
    /// An integer in the key's range.
    Int { min: i64, max: i64 },
    /// A duration such as `1d` or `30s` (a string).
    Duration,
}

/// One known key. `remote.<name>.FIELD` keys stand for every remote.
#[derive(Debug, Clone, Copy)]
pub struct KeySpec {
    pub name: &'static str,
    pub kind: Kind,
}

const fn key(name: &'static str, kind: Kind) -> KeySpec {
    KeySpec { name, kind }
}

/// The fields of a `[remote.NAME]` table (FORMAT.md §15.7).
pub const REMOTE_FIELDS: &[KeySpec] = &[
    key("url", Kind::Text),
    key("endpoint", Kind::Text),
    key("region", Kind::Text),
    key("allow_http", Kind::Bool),
    key("skip_signature", Kind::Bool),
    key("connect_timeout", Kind::Duration),
    key("request_timeout", Kind::Duration),
    key("retries", Kind::Int { min: 0, max: 20 }),
];

/// Every key outside the remote tables.
pub const KEYS: &[KeySpec] = &[
    key("core.format", Kind::Int { min: 1, max: 1 }),
    key("cache.dir", Kind::Path),
    key("gc.grace", Kind::Duration),
    key(
        "transfer.jobs",
        Kind::Int {
            min: 1,
            max: super::config::MAX_JOBS as i64,
        },
    ),
    key("remote.default", Kind::Text),
];

/// What a dotted key names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyRef {
    /// A key of [`KEYS`].
    Plain(&'static str),
    /// `remote.NAME.FIELD`.
    Remote { name: String, field: &'static str },
}

impl KeyRef {
    pub fn kind(&self) -> Kind {
        let (table, name) = match self {
            KeyRef::Plain(n) => (KEYS, *n),
            KeyRef::Remote { field, .. } => (REMOTE_FIELDS, *field),
        };
        table
            .iter()
            .find(|k| k.name == name)
            .map_or(Kind::Text, |k| k.kind)
    }

    /// The table path of the key in a file.
    pub fn path(&self) -> Vec<String> {
        match self {
            KeyRef::Plain(n) => n.split('.').map(str::to_string).collect(),
            KeyRef::Remote { name, field } => {
                vec!["remote".into(), name.clone(), (*field).to_string()]
            }
        }
    }
}

/// Look a dotted key up; an unknown key is an error naming the closest
/// known one.
pub fn lookup(key: &str) -> Result<KeyRef> {
    if let Some(k) = KEYS.iter().find(|k| k.name == key) {
        return Ok(KeyRef::Plain(k.name));
    }
    if let Some((name, field)) = key
        .strip_prefix("remote.")
        .and_then(|rest| rest.rsplit_once('.'))
    {
        if let Some(f) = REMOTE_FIELDS.iter().find(|f| f.name == field) {
            if !name.is_empty() {
                return Ok(KeyRef::Remote {
                    name: name.to_string(),
                    field: f.name,
                });
            }
        }
    }
    Err(Error::UnknownConfigKey {
        key: key.to_string(),
        suggestion: suggest(key),
    })
}

/// The known key closest to `key`, if one is close enough to be a typo.
pub fn suggest(key: &str) -> Option<String> {
    let mut candidates: Vec<String> = KEYS.iter().map(|k| k.name.to_string()).collect();
    // A remote field keeps the remote name the user wrote.
    let remote = key
        .strip_prefix("remote.")
        .and_then(|rest| rest.rsplit_once('.'))
        .map(|(n, _)| n);
    if let Some(n) = remote {
        candidates.extend(
            REMOTE_FIELDS
                .iter()
                .map(|f| format!("remote.{n}.{}", f.name)),
        );
    }
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(key, &c), c))
        .filter(|(d, c)| *d > 0 && *d <= 3.max(c.len() / 5))
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Parse text given on the command line as a value of `key`'s type, and
/// check it as a reader would.
pub fn parse_value(key: &KeyRef, text: &str) -> Result<toml::Value> {
    let shown = key.path().join(".");
    let bad = |reason: &str| Error::BadConfigValue {
        key: shown.clone(),
        value: text.to_string(),
        reason: reason.to_string(),
    };
    let v = match key.kind() {
        Kind::Text | Kind::Path if text.is_empty() => return Err(bad("the value is empty")),
        Kind::Text | Kind::Path => toml::Value::String(text.to_string()),
        Kind::Bool => match text {
            "true" => toml::Value::Boolean(true),
            "false" => toml::Value::Boolean(false),
            _ => return Err(bad("use true or false")),
        },
        Kind::Int { min, max } => match text.parse::<i64>() {
            Ok(n) if (min..=max).contains(&n) => toml::Value::Integer(n),
            _ if min == max => return Err(bad(&format!("the only supported value is {min}"))),
            _ => return Err(bad(&format!("use a whole number from {min} to {max}"))),
        },
        Kind::Duration => match super::config::parse_duration(text) {
            Some(d) if !d.is_zero() || matches!(key, KeyRef::Plain(_)) => {
                toml::Value::String(text.to_string())
            }
            _ => return Err(bad("use a duration such as 30s, 12h or 1d")),
        },
    };
    if let KeyRef::Remote { field, .. } = key {
        if *field == "endpoint" {
            crate::remote::check_endpoint(text).map_err(|_| {
                bad("an endpoint is an http:// or https:// URL without credentials")
            })?;
        }
    }
    Ok(v)
}

/// One key of a config file that cairn does not know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownKey {
    /// The dotted key as written.
    pub key: String,
    /// The known key it most likely meant.
    pub suggestion: Option<String>,
}

/// The unknown keys of one config file's table, in the file's (sorted)
/// order; the leaves of an unknown table are listed one by one, so each
/// gets its own suggestion.
pub fn unknown_in(table: &toml::Table) -> Vec<UnknownKey> {
    let mut out = Vec::new();
    for (top, v) in table {
        match (top.as_str(), v) {
            ("remote", toml::Value::Table(t)) => {
                for (name, v) in t {
                    match v {
                        toml::Value::Table(fields) => {
                            for f in fields.keys() {
                                if !REMOTE_FIELDS.iter().any(|k| k.name == f) {
                                    push(&mut out, format!("remote.{name}.{f}"));
                                }
                            }
                        }
                        _ if name == "default" => {}
                        _ => push(&mut out, format!("remote.{name}")),
                    }
                }
            }
            (_, toml::Value::Table(t)) => leaves(&mut out, top, t),
            _ => push(&mut out, top.to_string()),
        }
    }
    out
}

fn leaves(out: &mut Vec<UnknownKey>, prefix: &str, t: &toml::Table) {
    for (k, v) in t {
        let full = format!("{prefix}.{k}");
        match v {
            toml::Value::Table(sub) => leaves(out, &full, sub),
            _ if KEYS.iter().any(|known| known.name == full) => {}
            _ => push(out, full),
        }
    }
}

fn push(out: &mut Vec<UnknownKey>, key: String) {
    let suggestion = suggest(&key);
    out.push(UnknownKey { key, suggestion });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_looked_up_and_typos_get_the_closest_key() {
        assert_eq!(lookup("gc.grace").unwrap(), KeyRef::Plain("gc.grace"));
        assert_eq!(
            lookup("remote.a.b.endpoint").unwrap(),
            KeyRef::Remote {
                name: "a.b".into(),
                field: "endpoint"
            }
        );
        assert_eq!(suggest("gc.grase").as_deref(), Some("gc.grace"));
        assert_eq!(
            suggest("remote.origin.endpiont").as_deref(),
            Some("remote.origin.endpoint")
        );
        assert_eq!(suggest("completely.different.thing"), None);
        assert!(matches!(
            lookup("cache.dri"),
            Err(Error::UnknownConfigKey { suggestion: Some(s), .. }) if s == "cache.dir"
        ));
    }

    #[test]
    fn values_are_typed_and_checked() {
        let retries = lookup("remote.o.retries").unwrap();
        assert_eq!(parse_value(&retries, "3").unwrap(), toml::Value::Integer(3));
        assert!(parse_value(&retries, "99").is_err());
        assert!(parse_value(&lookup("gc.grace").unwrap(), "banana").is_err());
        assert!(parse_value(&lookup("remote.o.allow_http").unwrap(), "yes").is_err());
        assert!(parse_value(&lookup("remote.o.endpoint").unwrap(), "ftp://x").is_err());
        assert!(parse_value(&lookup("core.format").unwrap(), "2").is_err());
        let jobs = lookup("transfer.jobs").unwrap();
        assert!(parse_value(&jobs, "64").is_ok());
        assert!(parse_value(&jobs, "65").is_err());
    }

    #[test]
    fn unknown_keys_of_a_file_are_found() {
        let t: toml::Table = toml::from_str(
            "[core]\nformat = 1\nfromat = 2\n[cahce]\ndir = \"x\"\n[remote]\ndefault = \"o\"\n[remote.o]\nurl = \"x\"\nregoin = \"y\"\n",
        )
        .unwrap();
        let found = unknown_in(&t);
        let mut pairs: Vec<_> = found
            .iter()
            .map(|u| (u.key.as_str(), u.suggestion.as_deref()))
            .collect();
        pairs.sort();
        assert_eq!(
            pairs,
            [
                ("cahce.dir", Some("cache.dir")),
                ("core.fromat", Some("core.format")),
                ("remote.o.regoin", Some("remote.o.region"))
            ]
        );
    }
}
