//! AWS credentials and shared config through the AWS SDK's own chain.
//!
//! People keep AWS access in many forms besides `AWS_*` variables: shared
//! config profiles (`~/.aws/config`, `~/.aws/credentials`, selected by
//! `AWS_PROFILE`), `credential_process` helpers, SSO sessions, roles assumed
//! from a `source_profile`, web identity tokens (Kubernetes IRSA), container
//! and instance roles. Re-implementing that is a losing game, so S3 remotes
//! take their credentials from `aws-config`'s default chain, wrapped here as
//! an `object_store` credential provider. The chain itself puts the
//! environment first, so variables always win over files.
//!
//! Guarantees: credentials are fetched lazily (a command that never talks
//! to S3 never runs a `credential_process`), cached until a minute before
//! they expire (one helper run or one STS call per command, not per
//! request), and never printed: failures carry the chain's error text, which
//! names providers and files but holds no secret.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use aws_config::default_provider::credentials::DefaultCredentialsChain;
use aws_config::Region;
use aws_credential_types::provider::ProvideCredentials;
use aws_runtime::env_config::file::EnvConfigFiles;
use aws_types::os_shim_internal::{Env, Fs};
use object_store::aws::AwsCredential;
use object_store::CredentialProvider;

/// What the selected shared-config profile says about where to connect.
/// Credentials are not here: [`SdkCredentials`] resolves them.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Profile {
    pub region: Option<String>,
    pub endpoint: Option<String>,
}

/// Read the selected profile (`AWS_PROFILE`, else `default`) from the files
/// `AWS_CONFIG_FILE` and `AWS_SHARED_CREDENTIALS_FILE` name (else the ones
/// in `~/.aws`). Missing files yield nothing; so does a file the SDK cannot
/// parse, because the credential chain reports that itself when it matters.
pub fn load() -> Profile {
    // The SDK's loader is async only in signature: with the real file
    // system it reads with blocking calls and never waits, so a plain
    // executor finishes it without a tokio runtime.
    let set = futures::executor::block_on(aws_config::profile::load(
        &Fs::real(),
        &Env::real(),
        &EnvConfigFiles::default(),
        None,
    ));
    let Ok(set) = set else {
        return Profile::default();
    };
    let get = |key: &str| {
        set.get(key)
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    Profile {
        region: get("region"),
        endpoint: get("endpoint_url"),
    }
}

/// Credentials are renewed this long before they expire, so a request is
/// never signed with a key that dies in flight.
const RENEW_BEFORE: Duration = Duration::from_secs(60);

/// The AWS SDK's default credential chain as an `object_store` provider.
#[derive(Debug)]
pub struct SdkCredentials {
    /// The region STS calls (assume-role, web identity) go to: the same one
    /// the bucket is addressed in, so no metadata lookup is needed for it.
    region: String,
    chain: tokio::sync::OnceCell<DefaultCredentialsChain>,
    cached: tokio::sync::Mutex<Option<(Arc<AwsCredential>, Option<SystemTime>)>>,
}

impl SdkCredentials {
    pub fn new(region: &str) -> SdkCredentials {
        SdkCredentials {
            region: region.to_string(),
            chain: tokio::sync::OnceCell::new(),
            cached: tokio::sync::Mutex::new(None),
        }
    }
}

/// Why the chain found no usable credentials.
#[derive(Debug, thiserror::Error)]
#[error("no usable AWS credentials from the environment, profile, web identity, container or instance role: {0}")]
struct ChainFailed(String);

/// The error's text with its causes (the SDK's own `Display` is one word).
fn chain_text(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cur = e.source();
    while let Some(s) = cur {
        text.push_str(": ");
        text.push_str(&s.to_string());
        cur = s.source();
    }
    text
}

#[async_trait]
impl CredentialProvider for SdkCredentials {
    type Credential = AwsCredential;

    async fn get_credential(&self) -> object_store::Result<Arc<AwsCredential>> {
        // One fetch at a time: concurrent uploads wait for the first
        // instead of each running the helper or calling STS.
        let mut cached = self.cached.lock().await;
        if let Some((cred, expiry)) = cached.as_ref() {
            let fresh = expiry.is_none_or(|e| e > SystemTime::now() + RENEW_BEFORE);
            if fresh {
                return Ok(Arc::clone(cred));
            }
        }
        let chain = self
            .chain
            .get_or_init(|| async {
                DefaultCredentialsChain::builder()
                    .region(Region::new(self.region.clone()))
                    .build()
                    .await
            })
            .await;
        let got = chain
            .provide_credentials()
            .await
            .map_err(|e| object_store::Error::Generic {
                store: "S3",
                source: Box::new(ChainFailed(chain_text(&e))),
            })?;
        let cred = Arc::new(AwsCredential {
            key_id: got.access_key_id().to_string(),
            secret_key: got.secret_access_key().to_string(),
            token: got.session_token().map(str::to_string),
        });
        *cached = Some((Arc::clone(&cred), got.expiry()));
        Ok(cred)
    }
}
