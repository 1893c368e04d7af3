//! Remote URLs safe to print. A URL may carry credentials
//! (`https://user:secret@host/…`); every message, report and error that
//! names a remote shows it through [`redact`], so no secret reaches a
//! terminal, a log or a CI transcript. It sits below every layer because
//! git errors, remote errors and reports all name URLs.

/// A URL safe to print: any `user:password@` part is replaced by `***@`.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let host_end = rest.find('/').unwrap_or(rest.len());
    match rest[..host_end].rfind('@') {
        Some(at) => format!("{scheme}://***@{}", &rest[at + 1..]),
        None => url.to_string(),
    }
}
