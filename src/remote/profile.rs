//! AWS shared config profiles (`~/.aws/credentials`, `~/.aws/config`).
//!
//! `object_store` reads `AWS_*` variables, web identity, container and
//! instance roles, but not the shared files that the AWS CLI writes, which
//! is how most people keep keys on a workstation. This fills that gap the
//! way the AWS tools do: `AWS_PROFILE` (else `default`) selects a section;
//! `AWS_SHARED_CREDENTIALS_FILE` and `AWS_CONFIG_FILE` move the files.
//! Variables set in the environment always win, so the profile is only
//! consulted for what they leave unset.

use std::path::PathBuf;

/// What a profile supplies.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profile {
    pub access_key_id: Option<String>,
    pub secret_access_key: Option<String>,
    pub session_token: Option<String>,
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

fn home_file(var: &str, default: &str) -> Option<PathBuf> {
    match std::env::var_os(var).filter(|v| !v.is_empty()) {
        Some(p) => Some(PathBuf::from(p)),
        None => std::env::var_os("HOME")
            .filter(|v| !v.is_empty())
            .map(|h| PathBuf::from(h).join(default)),
    }
}

/// Read the selected profile. Missing or unreadable files yield nothing:
/// the provider chain then reports missing credentials.
pub fn load() -> Profile {
    let name = std::env::var("AWS_PROFILE")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| "default".to_string());
    let mut p = Profile::default();
    if let Some(text) = home_file("AWS_SHARED_CREDENTIALS_FILE", ".aws/credentials")
        .and_then(|f| std::fs::read_to_string(f).ok())
    {
        apply(&mut p, &text, &[name.as_str()]);
    }
    if let Some(text) =
        home_file("AWS_CONFIG_FILE", ".aws/config").and_then(|f| std::fs::read_to_string(f).ok())
    {
        // In the config file, sections other than `default` are
        // `[profile NAME]`.
        let section = format!("profile {name}");
        apply(&mut p, &text, &[name.as_str(), section.as_str()]);
    }
    p
}

fn apply(p: &mut Profile, text: &str, sections: &[&str]) {
    let Ok(ini) = ini::Ini::load_from_str(text) else {
        return;
    };
    for s in sections {
        let Some(props) = ini.section(Some(*s)) else {
            continue;
        };
        let set = |slot: &mut Option<String>, key: &str| {
            if slot.is_none() {
                *slot = props
                    .get(key)
                    .map(str::trim)
                    .filter(|v| !v.is_empty())
                    .map(str::to_string);
            }
        };
        set(&mut p.access_key_id, "aws_access_key_id");
        set(&mut p.secret_access_key, "aws_secret_access_key");
        set(&mut p.session_token, "aws_session_token");
        set(&mut p.region, "region");
        set(&mut p.endpoint, "endpoint_url");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_config_style_names() {
        let mut p = Profile::default();
        apply(
            &mut p,
            "[default]\naws_access_key_id = AKIADEF\n[team]\naws_access_key_id = AKIATEAM\naws_secret_access_key = s3cr3t\n",
            &["team"],
        );
        assert_eq!(p.access_key_id.as_deref(), Some("AKIATEAM"));
        assert_eq!(p.secret_access_key.as_deref(), Some("s3cr3t"));
        apply(
            &mut p,
            "[profile team]\nregion = eu-west-1\nendpoint_url = http://127.0.0.1:9000\n",
            &["team", "profile team"],
        );
        assert_eq!(p.region.as_deref(), Some("eu-west-1"));
        assert_eq!(p.endpoint.as_deref(), Some("http://127.0.0.1:9000"));
        // Garbage is ignored, not fatal.
        apply(&mut p, "[[[", &["team"]);
    }
}
