//! The spans a fetch reads: needed blobs grouped into coalesced byte
//! ranges of remote packs, and their download.
//!
//! A span is read with one ranged request; every blob inside it is decoded
//! and checked against its id by the store before it enters the cache, so
//! damaged remote data is refused and named (as the pack it came from).

use std::collections::HashMap;
use std::ops::Range;

use futures::StreamExt;
use rayon::prelude::*;

use super::fetch::{COALESCE_GAP, MAX_RANGE};
use super::Connection;
use crate::error::{Error, Result};
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::progress::Progress;
use crate::remote::index::{self, RemoteIndex};
use crate::store::Store;

/// A byte range of one remote pack and the blobs inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub pack: Id,
    pub range: Range<u64>,
    pub blobs: Vec<Entry>,
}

/// Group the needed blobs of one pack into coalesced ranges: neighbours
/// at most `gap` bytes apart share one, up to `max` bytes. A fetch joins
/// across [`COALESCE_GAP`] (it keeps what lies between) up to
/// [`MAX_RANGE`]; a streaming read, which keeps nothing, across much less,
/// and it cuts long runs itself (`transfer::ranged`).
pub fn coalesce(pack: Id, mut blobs: Vec<Entry>, gap: u64, max: u64) -> Vec<Span> {
    blobs.sort_by_key(|e| e.offset);
    let mut out: Vec<Span> = Vec::new();
    for e in blobs {
        let end = e.offset + e.stored_len as u64;
        match out.last_mut() {
            Some(s)
                if e.offset >= s.range.end
                    && e.offset - s.range.end <= gap
                    && end - s.range.start <= max =>
            {
                s.range.end = end;
                s.blobs.push(e);
            }
            _ => out.push(Span {
                pack,
                range: e.offset..end,
                blobs: vec![e],
            }),
        }
    }
    out
}

/// Coalesced spans for the blobs wanted from each pack, each keeping every
/// blob `idx` knows inside its range (the bytes arrive anyway, and a later
/// round would otherwise download them again).
pub(super) fn spans_of(idx: &RemoteIndex, by_pack: HashMap<Id, Vec<Entry>>) -> Vec<Span> {
    let mut spans: Vec<Span> = Vec::new();
    for (pack, blobs) in by_pack {
        let mut all = idx
            .packs
            .get(&pack)
            .map_or_else(|| blobs.clone(), |p| p.entries.clone());
        all.sort_by_key(|e| e.offset);
        for mut span in coalesce(pack, blobs, COALESCE_GAP, MAX_RANGE) {
            let from = all.partition_point(|e| e.offset < span.range.start);
            span.blobs = all[from..]
                .iter()
                .take_while(|e| e.offset + e.stored_len as u64 <= span.range.end)
                .copied()
                .collect();
            spans.push(span);
        }
    }
    spans.sort_by_key(|s| (s.pack, s.range.start));
    spans
}

/// Spans whose blobs average fewer raw bytes than this are stored by one
/// thread (see [`download`]); larger ones (text chunks average about
/// 70 KiB) are decompressed and hashed by rayon's workers, as before.
const PARALLEL_BLOB: u64 = 16 << 10;

/// Download `spans` with bounded concurrency and store their blobs.
pub(super) fn download(
    conn: &Connection,
    store: &Store,
    spans: Vec<Span>,
    progress: &dyn Progress,
) -> Result<(usize, u64)> {
    let (tx, mut rx) = tokio::sync::mpsc::channel(2);
    std::thread::scope(|s| {
        let downloader = s.spawn(move || {
            conn.rt.block_on(async {
                let mut stream = futures::stream::iter(spans)
                    .map(|span| async move {
                        let rel = index::pack_path(&span.pack);
                        let bytes = match conn.get_range_async(&rel, span.range.clone()).await {
                            Err(Error::Remote {
                                failure: crate::error::RemoteFailure::NotFound,
                                ..
                            }) => {
                                return Err(Error::RemotePackMissing {
                                    remote: conn.remote.name.clone(),
                                    pack: span.pack,
                                })
                            }
                            r => r?,
                        };
                        Ok::<_, Error>((span, bytes))
                    })
                    .buffer_unordered(conn.jobs().downloads);
                while let Some(item) = stream.next().await {
                    let stop = item.is_err();
                    if tx.send(item).await.is_err() || stop {
                        break;
                    }
                }
            })
        });
        let mut objects = 0usize;
        let mut bytes = 0u64;
        let mut result = Ok(());
        while let Some(item) = rx.blocking_recv() {
            let r = item.and_then(|(span, data)| {
                let len = span.range.end - span.range.start;
                if data.len() as u64 != len {
                    return Err(Error::RemoteCorrupt {
                        remote: conn.remote.name.clone(),
                        object: index::pack_path(&span.pack),
                        reason: format!("a read of {len} bytes returned {}", data.len()),
                    });
                }
                let put = |e: &Entry| {
                    let at = (e.offset - span.range.start) as usize;
                    let stored = &data[at..at + e.stored_len as usize];
                    match store.put_encoded(e.kind, e.id, e.codec, stored, e.raw_len) {
                        Err(Error::CorruptObject { cause, .. }) => Err(Error::RemoteBlobCorrupt {
                            remote: conn.remote.name.clone(),
                            pack: span.pack,
                            kind: e.kind,
                            id: e.id,
                            cause,
                        }),
                        r => r.map(|_| ()),
                    }
                };
                // Small blobs are checked and stored on this thread: that
                // costs less than handing each to a worker, and a store
                // written from one thread keeps its index runs and pack
                // footers in one allocator arena instead of one per worker
                // (at 300,000 tiny files, a third of the peak RSS).
                let raw: u64 = span.blobs.iter().map(|e| u64::from(e.raw_len)).sum();
                if raw < PARALLEL_BLOB * span.blobs.len() as u64 {
                    span.blobs.iter().try_for_each(put)?;
                } else {
                    span.blobs.par_iter().try_for_each(put)?;
                }
                crate::failpoint::hit("fetch.span_stored");
                progress.advance(len);
                objects += span.blobs.len();
                bytes += len;
                Ok(())
            });
            if let Err(e) = r {
                result = Err(e);
                break;
            }
        }
        drop(rx);
        let _ = downloader.join();
        result.map(|_| (objects, bytes))
    })
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::format::codec::Codec;
    use crate::format::kind::ObjectKind;

    /// A raw chunk entry of `len` bytes at `offset` (also used by
    /// `ranged`'s tests).
    pub(in crate::transfer) fn e(offset: u64, len: u32) -> Entry {
        Entry {
            id: Id::of(&offset.to_le_bytes()),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            offset,
            stored_len: len,
            raw_len: len,
        }
    }

    #[test]
    fn neighbours_coalesce_and_far_blobs_do_not() {
        let p = Id::of(b"p");
        let spans = coalesce(
            p,
            vec![e(16 + 200, 100), e(16, 100), e(16 + 10_000_000, 5)],
            COALESCE_GAP,
            MAX_RANGE,
        );
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].range, 16..316);
        assert_eq!(spans[0].blobs.len(), 2);
        assert_eq!(spans[1].range, 10_000_016..10_000_021);
    }

    #[test]
    fn ranges_stay_bounded() {
        let p = Id::of(b"p");
        let blobs: Vec<Entry> = (0..100).map(|i| e(16 + i * (1 << 20), 1 << 20)).collect();
        let spans = coalesce(p, blobs, COALESCE_GAP, MAX_RANGE);
        assert!(spans
            .iter()
            .all(|s| s.range.end - s.range.start <= MAX_RANGE));
        assert_eq!(spans.iter().map(|s| s.blobs.len()).sum::<usize>(), 100);
    }
}
