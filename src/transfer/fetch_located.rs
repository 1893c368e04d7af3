//! The locators' side of a fetch (FORMAT.md §15.8): what a walk finds
//! missing is looked up in the merged locators and downloaded in bounded
//! batches while the walk goes on.
//!
//! A fetch of a directory of a million files finds a million files missing
//! in one walk. Listing them all first would hold about 200 bytes per file
//! (each with the path that needs it); here they are handed over a few at a
//! time, and every [`BATCH_BLOBS`] of them are sorted into the records of
//! the locators and downloaded before the walk goes on, so what a fetch
//! holds beyond the locators' map stays bounded. Nothing a locator says is
//! trusted: the store checks every blob, and a failed download drops the
//! locators for the rest of the fetch.

use std::ops::Range;

use super::blob_map::BlobMap;
use super::fetch_spans::{download, Span};
use super::Connection;
use crate::engine::reach::Missing;
use crate::error::Result;
use crate::format::kind::ObjectKind;
use crate::format::pack::Entry;
use crate::hash::Id;
use crate::progress::Progress;
use crate::store::Store;

/// The locators of a fetch, read at the first need and kept across its
/// rounds (until a download through them fails).
pub(super) struct Located<'r> {
    roots: &'r [Id],
    read: bool,
    map: Option<BlobMap>,
}

/// What one walk did through the locators.
#[derive(Default)]
pub(super) struct Round {
    pub objects: usize,
    pub bytes: u64,
    /// Something was downloaded: the next walk may find more (the files
    /// of listing nodes that just arrived).
    pub fetched: bool,
    /// A download through the locators failed: they are dropped, and what
    /// the walk finds after it is ignored (the next walk finds it again).
    pub failed: bool,
    /// Found missing and placed by the locators, not yet downloaded.
    pending: Vec<Missing>,
    /// Found missing and placed by no locator (or already fetched by an
    /// earlier walk and still missing): for the index files.
    pub rest: Vec<Missing>,
}

impl<'r> Located<'r> {
    /// Locators of `roots`, not read yet (none to read for no roots).
    pub fn new(roots: &'r [Id]) -> Located<'r> {
        Located {
            roots,
            read: roots.is_empty(),
            map: None,
        }
    }

    /// Stop using the locators: the index files decide from here.
    pub fn drop_map(&mut self) {
        self.map = None;
    }

    /// Take `items` (what a walk found missing, not known to be absent)
    /// out of the vector: into `round.rest`, or into the pending batch,
    /// which is downloaded [`batch_size`] items at a time.
    pub fn take(
        &mut self,
        conn: &Connection,
        store: &Store,
        round: &mut Round,
        items: &mut Vec<Missing>,
        progress: &dyn Progress,
    ) {
        if round.failed || items.is_empty() {
            items.clear();
            return;
        }
        if !self.read {
            self.read = true;
            let found = conn.read_locators(self.roots);
            if !found.is_empty() {
                self.map = Some(BlobMap::merge(found));
            }
        }
        if self.map.is_none() {
            round.rest.append(items);
            return;
        }
        round.pending.append(items);
        let size = batch_size();
        while round.pending.len() >= size && !round.failed {
            let after = round.pending.split_off(size);
            self.settle(conn, store, round, progress);
            round.pending = after;
        }
    }

    /// Download what is pending in `round` through the locators (its
    /// blobs are then in the store, not yet flushed).
    pub fn settle(
        &mut self,
        conn: &Connection,
        store: &Store,
        round: &mut Round,
        progress: &dyn Progress,
    ) {
        let pending = std::mem::take(&mut round.pending);
        let Some(loc) = self.map.as_mut() else {
            round.rest.extend(pending);
            return;
        };
        if round.failed || pending.is_empty() {
            return;
        }
        let (want, rest) = through_locators(loc, pending);
        round.rest.extend(rest);
        if want.is_empty() {
            return;
        }
        for &i in &want {
            loc.mark_fetched(i);
        }
        match download_located(conn, store, loc, &want, progress) {
            Ok((objects, bytes)) => {
                round.objects += objects;
                round.bytes += bytes;
                round.fetched = true;
            }
            // Stale or lying: whatever it was, the index files decide from
            // here (they report real failures).
            Err(_) => round.failed = true,
        }
    }
}

/// How many missing items a batch holds (and how many blobs one download
/// stores before it plans the next spans). A build with the `failpoints`
/// feature (tests only) takes a smaller number from `CAIRN_FETCH_BATCH`,
/// so tests can cross batch boundaries with a few files.
pub(super) fn batch_size() -> usize {
    #[cfg(feature = "failpoints")]
    if let Some(n) = std::env::var("CAIRN_FETCH_BATCH")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .filter(|&n| n > 0)
    {
        return n;
    }
    BATCH_BLOBS
}

/// Sort `missing` by what the locators say: the records of the blobs
/// `loc` places and no earlier round fetched (each once, in pack and
/// offset order), and the missing blobs it does not place.
fn through_locators(loc: &BlobMap, missing: Vec<Missing>) -> (Vec<u32>, Vec<Missing>) {
    let mut want = Vec::new();
    let mut rest = Vec::new();
    for m in missing {
        // A file of one chunk has no manifest: the chunk has its id.
        let found = loc.find(m.kind, &m.id).or_else(|| {
            (m.kind == ObjectKind::Manifest)
                .then(|| loc.find(ObjectKind::Chunk, &m.id))
                .flatten()
        });
        match found {
            Some(i) if !loc.was_fetched(i) => want.push(i),
            _ => rest.push(m),
        }
    }
    want.sort_unstable_by_key(|&i| loc.place(i));
    want.dedup();
    (want, rest)
}

/// Blobs a located fetch downloads and stores before it plans the next
/// spans: what it holds at once (the missing items, their entries, the
/// read buffers in flight) stays bounded whatever the number of files.
const BATCH_BLOBS: usize = 1 << 15;

/// What [`located_spans`] calls with each span: pack number, byte range,
/// member records.
type SpanVisitor<'a> = dyn FnMut(u32, Range<u64>, &[u32]) -> Result<()> + 'a;

/// Call `f` with each coalesced span of `want` (record numbers of `loc`
/// in pack and offset order): its pack number, byte range and members, as
/// [`coalesce`] groups them.
fn located_spans(loc: &BlobMap, want: &[u32], gap: u64, f: &mut SpanVisitor) -> Result<()> {
    let mut start = 0;
    while start < want.len() {
        let (pack, offset) = loc.place(want[start]);
        let mut range = offset..offset + u64::from(loc.at(want[start]).1.stored_len);
        let mut end = start + 1;
        while end < want.len() {
            let (p, o) = loc.place(want[end]);
            let to = o + u64::from(loc.at(want[end]).1.stored_len);
            if p != pack
                || o < range.end
                || o - range.end > gap
                || to - range.start > super::fetch::MAX_RANGE
            {
                break;
            }
            range.end = to;
            end += 1;
        }
        f(pack, range, &want[start..end])?;
        start = end;
    }
    Ok(())
}

/// Download the blobs `want` (see [`located_spans`]) in batches of about
/// [`batch_size`], each stored before the next is planned. Every blob the
/// locators place inside a span is stored: its bytes arrive anyway, and
/// the next round of the walk (the chunks of the manifests this one
/// brings) would otherwise read them again, a request per gap.
fn download_located(
    conn: &Connection,
    store: &Store,
    loc: &BlobMap,
    want: &[u32],
    progress: &dyn Progress,
) -> Result<(usize, u64)> {
    let gap = super::fetch::COALESCE_GAP;
    let mut total = 0;
    located_spans(loc, want, gap, &mut |_, range, _| {
        total += range.end - range.start;
        Ok(())
    })?;
    progress.begin("fetching", Some(total));
    let (mut objects, mut bytes) = (0, 0);
    let batch_len = batch_size();
    let mut batch: Vec<Span> = Vec::new();
    let mut held = 0;
    let mut flush = |batch: &mut Vec<Span>, held: &mut usize| -> Result<()> {
        let (o, b) = download(conn, store, std::mem::take(batch), progress)?;
        objects += o;
        bytes += b;
        *held = 0;
        Ok(())
    };
    let r = located_spans(loc, want, gap, &mut |pack, range, _| {
        let blobs: Vec<Entry> = loc
            .inside(pack, range.clone())
            .map(|i| loc.at(i).1)
            .collect();
        held += blobs.len();
        batch.push(Span {
            pack: loc.pack(pack).id,
            range,
            blobs,
        });
        if held >= batch_len {
            flush(&mut batch, &mut held)?;
        }
        Ok(())
    })
    .and_then(|()| flush(&mut batch, &mut held));
    progress.end();
    r.map(|()| (objects, bytes))
}
