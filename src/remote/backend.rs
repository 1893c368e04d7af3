//! Connecting to a remote: the `object_store` client for a remote's URL and
//! settings, and turning its errors into ones a user can act on.
//!
//! Credentials come only from the provider's environment and chain
//! (`AWS_*`, `GOOGLE_*`, `AZURE_*` variables, instance roles); they are
//! never read from or written to cairn's config. Environment variables win
//! over config-file settings, as everywhere in cairn. Every client gets a
//! connect timeout and a bounded retry policy, so a dead endpoint fails in
//! seconds rather than hanging: requests that move metadata (listings,
//! index files, deletes) go through a client whose requests and retries
//! end after `request_timeout`; pack data goes through a second client
//! whose limit grows with the part size, so a 16 MiB part on a slow but
//! live link still arrives. A hung endpoint is found by the first,
//! small request of every command. Error text from a server is scrubbed of
//! anything secret before it can reach a terminal.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::{AmazonS3Builder, AmazonS3ConfigKey};
use object_store::azure::{AzureConfigKey, MicrosoftAzureBuilder};
use object_store::gcp::{GoogleCloudStorageBuilder, GoogleConfigKey};
use object_store::http::HttpBuilder;
use object_store::local::LocalFileSystem;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use super::settings::ResolvedRemote;
use super::{redact, Location};
use crate::error::{Error, RemoteFailure, Result};

/// An open client and where in it the remote's objects live.
pub struct Backend {
    /// For small requests: bounded by `request_timeout`.
    pub store: Arc<dyn ObjectStore>,
    /// For pack data (parts, ranged reads): bounded by
    /// [`super::Settings::bulk_timeout`].
    pub bulk: Arc<dyn ObjectStore>,
    /// Path prefix inside the bucket ("" for the root), no slashes at ends.
    pub prefix: String,
    /// For folder remotes: the directory, so finished files can be fsynced.
    pub folder: Option<std::path::PathBuf>,
    pub writable: bool,
}

fn retry(s: &super::Settings) -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            base: 2.0,
        },
        max_retries: s.retries,
        // No retry starts after this; with the request timeout it bounds
        // how long one operation can take.
        retry_timeout: s.request_timeout,
    }
}

fn client(s: &super::Settings) -> ClientOptions {
    let mut o = ClientOptions::new()
        .with_connect_timeout(s.connect_timeout)
        .with_timeout(s.request_timeout);
    if let Some(h) = s.allow_http {
        o = o.with_allow_http(h);
    }
    o
}

/// Open the clients for `remote`. `create` makes a missing folder remote
/// (for push); reading from a missing folder is an error.
pub fn open(remote: &ResolvedRemote, create: bool) -> Result<Backend> {
    let mut backend = open_with(remote, create, &remote.settings)?;
    if backend.folder.is_none() {
        let bulk = remote.settings.for_bulk();
        backend.bulk = open_with(remote, create, &bulk)?.store;
    }
    Ok(backend)
}

fn open_with(remote: &ResolvedRemote, create: bool, s: &super::Settings) -> Result<Backend> {
    let fail = |failure, e: Box<dyn std::error::Error + Send + Sync>| Error::Remote {
        remote: remote.name.clone(),
        url: redact(&remote.url),
        op: "connect",
        failure,
        source: Box::new(Scrubbed(scrub(&e.to_string()))),
    };
    let bad_settings = |e: object_store::Error| {
        let failure = match classify(&e, false) {
            RemoteFailure::Credentials => RemoteFailure::Credentials,
            _ => RemoteFailure::BadSettings,
        };
        fail(failure, Box::new(e))
    };
    let (store, prefix, folder, writable): (Arc<dyn ObjectStore>, String, _, bool) =
        match &remote.location {
            Location::Folder(dir) => {
                if dir.exists() && !dir.is_dir() {
                    return Err(fail(
                        RemoteFailure::BadSettings,
                        format!("{} is not a directory", dir.display()).into(),
                    ));
                }
                if create {
                    std::fs::create_dir_all(dir)
                        .map_err(|e| fail(RemoteFailure::NoSuchBucket, Box::new(e)))?;
                } else if !dir.is_dir() {
                    return Err(fail(
                        RemoteFailure::NoSuchBucket,
                        format!("{} is not a directory", dir.display()).into(),
                    ));
                }
                let fs = LocalFileSystem::new_with_prefix(dir).map_err(bad_settings)?;
                (Arc::new(fs), String::new(), Some(dir.clone()), true)
            }
            Location::S3 { bucket, prefix } => (
                Arc::new(s3(bucket, s).build().map_err(bad_settings)?),
                prefix.clone(),
                None,
                true,
            ),
            Location::Gcs { bucket, prefix } => (
                Arc::new(gcs(bucket, s).build().map_err(bad_settings)?),
                prefix.clone(),
                None,
                true,
            ),
            Location::Azure { container, prefix } => (
                Arc::new(azure(container, s).build().map_err(bad_settings)?),
                prefix.clone(),
                None,
                true,
            ),
            Location::Http(url) => {
                // An http:// URL is an explicit choice of plain HTTP.
                let mut plain = s.clone();
                if url.starts_with("http://") && plain.allow_http.is_none() {
                    plain.allow_http = Some(true);
                }
                let b = HttpBuilder::new()
                    .with_url(url)
                    .with_retry(retry(s))
                    .with_client_options(client(&plain));
                (
                    Arc::new(b.build().map_err(bad_settings)?),
                    String::new(),
                    None,
                    false,
                )
            }
        };
    Ok(Backend {
        bulk: store.clone(),
        store,
        prefix,
        folder,
        writable,
    })
}

/// The S3 client: settings from cairn's config, a shared-config profile's
/// region and endpoint where neither that nor the environment sets one, the
/// AWS SDK's credential chain, and `AWS_*` variables over everything.
fn s3(bucket: &str, s: &super::Settings) -> AmazonS3Builder {
    let mut b = AmazonS3Builder::new()
        .with_bucket_name(bucket)
        .with_retry(retry(s))
        .with_client_options(client(s));
    if let Some(e) = &s.endpoint {
        b = b.with_endpoint(e);
    }
    if s.skip_signature {
        b = b.with_skip_signature(true);
    }
    // Precedence, most specific first: the environment, cairn's
    // config, the shared-config profile.
    let prof = super::profile::load();
    let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let region = env("AWS_REGION")
        .or_else(|| env("AWS_DEFAULT_REGION"))
        .or_else(|| s.region.clone())
        .or(prof.region)
        .unwrap_or_else(|| "us-east-1".to_string());
    b = b.with_region(&region);
    if s.endpoint.is_none() && env("AWS_ENDPOINT").is_none() && env("AWS_ENDPOINT_URL").is_none() {
        if let Some(e) = &prof.endpoint {
            b = b.with_endpoint(e);
        }
    }
    if !s.skip_signature {
        // The SDK's chain (environment first) instead of
        // object_store's, which knows no profiles.
        b = b.with_credentials(Arc::new(super::profile::SdkCredentials::new(&region)));
    }
    // The environment wins over config files.
    for (k, v) in std::env::vars() {
        if k.starts_with("AWS_") {
            match AmazonS3ConfigKey::from_str(&k.to_ascii_lowercase()) {
                // The bucket is the remote URL's, never `AWS_BUCKET`.
                Ok(AmazonS3ConfigKey::Bucket) | Err(_) => {}
                Ok(key) => b = b.with_config(key, v),
            }
        }
    }
    b
}

/// The GCS client: `endpoint` is the API base URL; `GOOGLE_*` variables win.
fn gcs(bucket: &str, s: &super::Settings) -> GoogleCloudStorageBuilder {
    let mut b = GoogleCloudStorageBuilder::new()
        .with_bucket_name(bucket)
        .with_retry(retry(s))
        .with_client_options(client(s));
    // A custom endpoint is the JSON/XML API base URL (an emulator,
    // a proxy).
    if let Some(e) = &s.endpoint {
        b = b.with_base_url(e);
    }
    if s.skip_signature {
        b = b.with_skip_signature(true);
    }
    // The environment wins over config files, as for S3; applied
    // after the client options so `GOOGLE_ALLOW_HTTP` and the like
    // are not reset by them. The bucket is the URL's.
    if let Some(path) = std::env::var_os("SERVICE_ACCOUNT").filter(|v| !v.is_empty()) {
        b = b.with_service_account_path(path.to_string_lossy());
    }
    for (k, v) in std::env::vars() {
        if k.starts_with("GOOGLE_") {
            match GoogleConfigKey::from_str(&k.to_ascii_lowercase()) {
                Ok(GoogleConfigKey::Bucket) | Err(_) => {}
                Ok(key) => b = b.with_config(key, v),
            }
        }
    }
    b
}

/// The Azure Blob client; `AZURE_*` variables win.
fn azure(container: &str, s: &super::Settings) -> MicrosoftAzureBuilder {
    let mut b = MicrosoftAzureBuilder::new()
        .with_container_name(container)
        .with_retry(retry(s))
        .with_client_options(client(s));
    // The environment wins, applied after the client options so
    // `AZURE_ALLOW_HTTP` and the like survive; the container is
    // the URL's.
    for (k, v) in std::env::vars() {
        if k.starts_with("AZURE_") {
            match AzureConfigKey::from_str(&k.to_ascii_lowercase()) {
                Ok(AzureConfigKey::ContainerName) | Err(_) => {}
                Ok(key) => b = b.with_config(key, v),
            }
        }
    }
    if let Some(e) = std::env::var("IDENTITY_ENDPOINT")
        .ok()
        .filter(|v| !v.is_empty())
    {
        b = b.with_msi_endpoint(e);
    }
    b
}

/// Sort an `object_store` error into what the user should do about it.
pub fn classify(e: &object_store::Error, listing: bool) -> RemoteFailure {
    let text = chain_text(e);
    let has = |s: &str| text.contains(s);
    if has("SignatureDoesNotMatch")
        || has("InvalidAccessKeyId")
        || has("InvalidClientTokenId")
        || has("ExpiredToken")
        || has("InvalidToken")
        || has("AuthenticationFailed")
        || has("credential")
        || has("Credential")
        || has("AccessKeyId")
        || has("169.254.169.254")
        || has("instance metadata")
    {
        return RemoteFailure::Credentials;
    }
    if has("NoSuchBucket") || has("ContainerNotFound") || has("bucket does not exist") {
        return RemoteFailure::NoSuchBucket;
    }
    // S3 answers a denied listing with a generic 403 that object_store
    // does not map to PermissionDenied.
    if has("<Code>AccessDenied</Code>") {
        return RemoteFailure::PermissionDenied;
    }
    match e {
        object_store::Error::Unauthenticated { .. } => RemoteFailure::Credentials,
        object_store::Error::PermissionDenied { .. } => RemoteFailure::PermissionDenied,
        object_store::Error::NotFound { .. } if listing => RemoteFailure::NoSuchBucket,
        object_store::Error::NotFound { .. } => RemoteFailure::NotFound,
        _ if has("error sending request")
            || has("connect")
            || has("Connection refused")
            || has("dns error")
            || has("timed out")
            || has("operation timed out") =>
        {
            RemoteFailure::Unreachable
        }
        _ => RemoteFailure::Failed,
    }
}

/// The error's text with its causes, each once (`object_store` errors
/// already print their source inline).
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        let part = s.to_string();
        if !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cur = s.source();
    }
    text
}

/// The error for a failed `op` against `remote`, with the cause scrubbed.
pub fn remote_error(
    remote: &ResolvedRemote,
    op: &'static str,
    e: object_store::Error,
    listing: bool,
) -> Error {
    Error::Remote {
        remote: remote.name.clone(),
        url: redact(&remote.url),
        op,
        failure: classify(&e, listing),
        source: Box::new(Scrubbed(scrub(&chain_text(&e)))),
    }
}

/// Error text that has been through [`scrub`].
#[derive(Debug)]
pub struct Scrubbed(pub String);

impl std::fmt::Display for Scrubbed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Scrubbed {}

/// Environment variables whose values must never be printed.
const SECRET_VARS: &[&str] = &[
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_ACCESS_KEY_ID",
    "AZURE_STORAGE_ACCOUNT_KEY",
    "AZURE_STORAGE_ACCESS_KEY",
    "AZURE_STORAGE_SAS_KEY",
    "AZURE_CLIENT_SECRET",
    "GOOGLE_SERVICE_ACCOUNT_KEY",
];

/// Make server error text safe and short: drop echoed request details
/// (S3 echoes the access key id and the string it signed), replace any
/// secret from the environment, and keep the first 300 characters.
pub fn scrub(text: &str) -> String {
    let mut out = text.to_string();
    for tag in [
        "AWSAccessKeyId",
        "StringToSign",
        "StringToSignBytes",
        "SignatureProvided",
        "CanonicalRequest",
        "CanonicalRequestBytes",
        "HostId",
        "RequestId",
    ] {
        let open = format!("<{tag}>");
        let close = format!("</{tag}>");
        while let Some(a) = out.find(&open) {
            match out[a..].find(&close) {
                Some(b) => out.replace_range(a..a + b + close.len(), ""),
                None => out.truncate(a),
            }
        }
    }
    for var in SECRET_VARS {
        if let Ok(v) = std::env::var(var) {
            if v.len() >= 4 {
                out = out.replace(&v, "***");
            }
        }
    }
    let out = out.split_whitespace().collect::<Vec<_>>().join(" ");
    match out.char_indices().nth(300) {
        Some((i, _)) => format!("{}…", &out[..i]),
        None => out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_removes_echoed_request_details() {
        let body = "<Error><Code>SignatureDoesNotMatch</Code><AWSAccessKeyId>AKIAXXXX</AWSAccessKeyId>\n<StringToSign>AWS4-HMAC secret-ish</StringToSign><SignatureProvided>abcd</SignatureProvided></Error>";
        let s = scrub(body);
        assert!(s.contains("SignatureDoesNotMatch"), "{s}");
        assert!(
            !s.contains("AKIAXXXX") && !s.contains("secret-ish") && !s.contains("abcd"),
            "{s}"
        );
        assert!(scrub(&"x".repeat(1000)).chars().count() <= 301);
    }
}
