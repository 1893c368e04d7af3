//! The packs a push builds from loose blobs: their layout and name are
//! decided from the footer entries alone, then the pack is written blob by
//! blob (each read and verified as it goes) to a spool, never built in
//! memory.
//!
//! A pack's name covers each blob's codec and stored length, so the name is
//! known before any byte is read, and a pack is never sent under a name gc
//! has condemned (gc may delete that name whatever it then holds): the
//! blobs go in the given order if that name is free (so a re-run builds the
//! same pack), else rotated, else with the first blob stored otherwise. The
//! bytes written are exactly those `format::pack::PackBuilder` builds for
//! the same blobs in the same order (the tests compare them).

use std::collections::HashSet;
use std::io::Write;

use crate::error::{Error, Result};
use crate::format::pack::{encode_footer, header, pack_id, Entry, HEADER_LEN};
use crate::hash::Id;

/// How many blob orders a push tries to find a pack name gc has not
/// condemned (before it stores the first blob otherwise).
const NAME_TRIES: usize = 8;

/// A repacked pack decided but not yet written.
#[derive(Debug)]
pub struct Layout {
    /// The pack's name.
    pub id: Id,
    /// Its footer entries (offsets in the new pack).
    pub entries: Vec<Entry>,
    /// The given blobs go rotated left by this many.
    rotate: usize,
    /// The first blob stored otherwise, when its usual encoding gave only
    /// condemned names.
    first: Option<Vec<u8>>,
}

#[cfg(test)]
impl Layout {
    /// Bytes the pack will have.
    pub fn len(&self) -> u64 {
        let blobs: u64 = self.entries.iter().map(|e| e.stored_len as u64).sum();
        use crate::format::pack::{ENTRY_LEN, TRAILER_LEN};
        HEADER_LEN + blobs + (self.entries.len() * ENTRY_LEN + TRAILER_LEN) as u64
    }
}

/// The entries of a pack holding `blobs` in this order.
fn lay_out(n: usize, blobs: impl Iterator<Item = Entry>) -> Vec<Entry> {
    let mut at = HEADER_LEN;
    let mut out = Vec::with_capacity(n);
    out.extend(blobs.map(|e| {
        let placed = Entry { offset: at, ..e };
        at += e.stored_len as u64;
        placed
    }));
    out
}

/// Decide the pack of `n` blobs, `blob(i)` the entry of the `i`th where it
/// is read from:
/// a name that is not condemned, trying the given order, then rotations,
/// then other encodings of the first blob, whose stored bytes
/// `first_stored` reads (only then). Every variant holds the same verified
/// blobs; a pack's name covers each blob's codec and stored length, so each
/// variant has a name of its own.
pub fn choose(
    remote: &str,
    n: usize,
    blob: impl Fn(usize) -> Entry,
    first_stored: impl FnOnce() -> Result<Vec<u8>>,
    condemned: &HashSet<Id>,
) -> Result<Layout> {
    for rotate in 0..n.clamp(1, NAME_TRIES) {
        let entries = lay_out(n, (0..n).map(|i| blob((i + rotate) % n)));
        let id = pack_id(&entries);
        if !condemned.contains(&id) {
            return Ok(Layout {
                id,
                entries,
                rotate,
                first: None,
            });
        }
    }
    if n > 0 {
        for (first, bytes) in other_encodings(&blob(0), &first_stored()?) {
            let entries = lay_out(n, std::iter::once(first).chain((1..n).map(&blob)));
            let id = pack_id(&entries);
            if !condemned.contains(&id) {
                return Ok(Layout {
                    id,
                    entries,
                    rotate: 0,
                    first: Some(bytes),
                });
            }
        }
    }
    Err(Error::PackNameCondemned {
        remote: remote.to_string(),
    })
}

/// Write the pack `layout` decided to `out`: `read(i)` gives the verified
/// stored bytes of the `i`th blob given to [`choose`]. Returns the bytes
/// written.
pub fn write_pack(
    layout: &Layout,
    mut read: impl FnMut(usize) -> Result<Vec<u8>>,
    out: &mut impl Write,
    err: impl Fn(std::io::Error) -> Error,
) -> Result<u64> {
    let n = layout.entries.len();
    out.write_all(&header()).map_err(&err)?;
    let mut at = HEADER_LEN;
    for (k, e) in layout.entries.iter().enumerate() {
        let owned;
        let bytes: &[u8] = match (&layout.first, k) {
            (Some(first), 0) => first,
            _ => {
                owned = read((k + layout.rotate) % n)?;
                &owned
            }
        };
        if bytes.len() != e.stored_len as usize || at != e.offset {
            return Err(err(std::io::Error::other(
                "a blob's stored length changed while its pack was written",
            )));
        }
        out.write_all(bytes).map_err(&err)?;
        at += bytes.len() as u64;
    }
    let footer = encode_footer(&layout.entries, at);
    out.write_all(&footer).map_err(&err)?;
    Ok(at + footer.len() as u64)
}

/// The same blob stored differently: raw, and zstd single frames at a few
/// levels with and without a checksum and a content size, one per stored
/// length. Each is checked as a reader would check it.
fn other_encodings(e: &Entry, stored: &[u8]) -> Vec<(Entry, Vec<u8>)> {
    use crate::format::codec::{decompress, Codec};
    use zstd::stream::raw::CParameter;
    let Ok(raw) = decompress(e.codec, stored, e.raw_len as usize) else {
        return Vec::new();
    };
    let mut out: Vec<(Codec, Vec<u8>)> = Vec::new();
    if e.codec == Codec::Zstd {
        out.push((Codec::Raw, raw.clone()));
    }
    for level in [1, 3, 19] {
        for (checksum, size) in [(false, true), (true, true), (false, false), (true, false)] {
            let Ok(mut c) = zstd::bulk::Compressor::new(level) else {
                continue;
            };
            let z = c
                .set_parameter(CParameter::ChecksumFlag(checksum))
                .and_then(|()| c.set_parameter(CParameter::ContentSizeFlag(size)))
                .and_then(|()| c.compress(&raw));
            let Ok(z) = z else { continue };
            let taken = z.len() == stored.len()
                || out
                    .iter()
                    .any(|(c, o)| *c == Codec::Zstd && o.len() == z.len());
            if !taken {
                out.push((Codec::Zstd, z));
            }
        }
    }
    out.into_iter()
        .filter(|(c, b)| crate::store::check_encoded(e.kind, &e.id, *c, b, e.raw_len).is_ok())
        .map(|(codec, b)| {
            (
                Entry {
                    codec,
                    stored_len: b.len() as u32,
                    ..*e
                },
                b,
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::codec::Codec;
    use crate::format::kind::ObjectKind;
    use crate::format::pack::PackBuilder;

    fn blob(seed: &str, len: usize) -> (Entry, Vec<u8>) {
        let raw: Vec<u8> = (0..len)
            .map(|i| blake3::hash(format!("{seed}{}", i / 32).as_bytes()).as_bytes()[i % 32])
            .collect();
        let e = Entry {
            id: Id::of(&raw),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            offset: 0,
            stored_len: raw.len() as u32,
            raw_len: raw.len() as u32,
        };
        (e, raw)
    }

    /// Decide and write a pack of `blobs` in memory: (id, bytes, entries).
    fn build(
        blobs: &[(Entry, Vec<u8>)],
        condemned: &HashSet<Id>,
    ) -> Result<(Id, Vec<u8>, Vec<Entry>)> {
        let layout = choose(
            "r",
            blobs.len(),
            |i| blobs[i].0,
            || Ok(blobs[0].1.clone()),
            condemned,
        )?;
        let mut out = Vec::new();
        let len = write_pack(
            &layout,
            |i| Ok(blobs[i].1.clone()),
            &mut out,
            |e| Error::io("write", std::path::Path::new("mem"), e),
        )?;
        assert_eq!(len, out.len() as u64);
        assert_eq!(layout.len(), len);
        Ok((layout.id, out, layout.entries))
    }

    #[test]
    fn a_pack_is_never_built_under_a_condemned_name() {
        for blobs in [
            vec![blob("one", 12_000)],
            vec![blob("a", 5_000), blob("b", 7_000)],
        ] {
            let mut condemned = HashSet::new();
            let mut names = HashSet::new();
            // Condemn every name it picks until it runs out of ways.
            while let Ok((id, bytes, entries)) = build(&blobs, &condemned) {
                assert!(names.insert(id), "a condemned name came back");
                assert_eq!(crate::format::pack::pack_id(&entries), id);
                for e in &entries {
                    let stored = &bytes[e.offset as usize..][..e.stored_len as usize];
                    crate::store::check_encoded(e.kind, &e.id, e.codec, stored, e.raw_len).unwrap();
                }
                condemned.insert(id);
            }
            assert!(
                names.len() >= 4,
                "only {} ways for {} blob(s)",
                names.len(),
                blobs.len()
            );
        }
    }

    /// The streamed pack is byte for byte the one `PackBuilder` builds in
    /// memory from the same blobs in the same order, rotated or not.
    #[test]
    fn a_written_pack_is_the_one_the_builder_builds() {
        let blobs: Vec<(Entry, Vec<u8>)> = (0..20)
            .map(|i| blob(&format!("b{i}"), 100 + 37 * i))
            .collect();
        let mut condemned = HashSet::new();
        for rotate in 0..3 {
            let (id, bytes, entries) = build(&blobs, &condemned).unwrap();
            let mut b = PackBuilder::default();
            for (e, stored) in blobs[rotate..].iter().chain(&blobs[..rotate]) {
                b.add(e.kind, e.id, e.codec, stored, e.raw_len);
            }
            assert_eq!(b.finish(), (id, bytes, entries), "rotated by {rotate}");
            condemned.insert(id);
        }
    }
}
