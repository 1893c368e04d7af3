//! Reading single objects from another tool's bucket (a DVC remote on S3,
//! GCS or Azure) through the same `object_store` clients, credentials and
//! timeouts as cairn's own remotes.
//!
//! `cairn import dvc` needs a few whole objects by name and nothing of
//! cairn's remote layout, so this is one blocking call on a small runtime
//! of its own. The object is streamed to a writer as it arrives, so memory
//! stays bounded whatever its size; the caller verifies the bytes.

use std::io::Write;

use futures::StreamExt;
use object_store::ObjectStoreExt;

use super::backend::{open, remote_error};
use super::settings::ResolvedRemote;
use crate::error::{Error, Result};

/// Copy the object `rel` (relative to the remote's prefix) into `out`;
/// its length, or `None` when the remote has no such object.
pub fn download(remote: &ResolvedRemote, rel: &str, out: &mut dyn Write) -> Result<Option<u64>> {
    let backend = open(remote, false)?;
    let key = if backend.prefix.is_empty() {
        rel.to_string()
    } else {
        format!("{}/{rel}", backend.prefix)
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("start a runtime for", std::path::Path::new(rel), e))?;
    runtime.block_on(async {
        let path = object_store::path::Path::from(key);
        let got = match backend.bulk.get(&path).await {
            Ok(g) => g,
            Err(object_store::Error::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(remote_error(remote, "download", e, false)),
        };
        let mut stream = got.into_stream();
        let mut len = 0u64;
        while let Some(part) = stream.next().await {
            let part = part.map_err(|e| remote_error(remote, "download", e, false))?;
            out.write_all(&part)
                .map_err(|e| Error::io("write", std::path::Path::new(rel), e))?;
            len += part.len() as u64;
        }
        Ok(Some(len))
    })
}
