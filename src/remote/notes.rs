//! Notes beside a remote's index files: damage found by `verify --remote`
//! and packs condemned by `gc --remote`.
//!
//! Both kinds are small text files under `index/`, named by the hash of
//! their contents like index files, so one listing finds them all and a
//! note, once written, never changes. Their encodings are canonical
//! (sorted, deduplicated, one spelling per number) so that equal notes
//! have equal names. Unreadable lines are skipped: a note is advice about
//! which copies to avoid or when a pack may go, never the only record of
//! data.

use crate::format::kind::ObjectKind;
use crate::hash::Id;

/// Damage notes (written by `verify --remote`) sit beside the index
/// files, as `<id>.dmg`, so one listing finds both.
pub const DAMAGE_SUFFIX: &str = ".dmg";
/// Condemnation notes (written by `gc --remote`) sit beside them too, as
/// `<id>.cnd`: the packs gc will delete once they have been condemned for
/// a grace period (FORMAT.md §15.6).
pub const CONDEMN_SUFFIX: &str = ".cnd";
/// The id in a damage note's path (`index/<id>.dmg`), if it is one.
pub fn damage_id_of(path: &str) -> Option<Id> {
    let name = path.rsplit('/').next()?;
    Id::from_hex(name.strip_suffix(DAMAGE_SUFFIX)?)
}

/// The id in a condemnation note's path (`index/<id>.cnd`), if it is one.
pub fn condemn_id_of(path: &str) -> Option<Id> {
    let name = path.rsplit('/').next()?;
    Id::from_hex(name.strip_suffix(CONDEMN_SUFFIX)?)
}

/// One damaged copy recorded by `verify --remote` in a damage note: a
/// whole pack (`blob` is `None`) or one blob in it. `stamp` is the pack's
/// last-modified time (milliseconds since the epoch) when it was found
/// damaged, or `None` if it was missing: the note applies only while the
/// pack is still that object (or still missing), so re-uploading the pack
/// under its content name retires the note by itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Note {
    pub pack: Id,
    pub stamp: Option<u64>,
    pub blob: Option<(u8, Id)>,
}

impl Note {
    pub fn new(pack: Id, stamp: Option<u64>, blob: Option<(ObjectKind, Id)>) -> Note {
        Note {
            pack,
            stamp,
            blob: blob.map(|(k, id)| (k.to_u8(), id)),
        }
    }

    pub fn blob(&self) -> Option<(ObjectKind, Id)> {
        self.blob
            .and_then(|(k, id)| ObjectKind::from_u8(k).map(|k| (k, id)))
    }
}

/// Encode a damage note: one `<pack id> <stamp or -> [<kind> <blob id>]`
/// per line, sorted, so equal notes have equal names.
pub fn encode_notes(notes: &[Note]) -> String {
    let mut v = notes.to_vec();
    v.sort();
    v.dedup();
    let mut out = String::new();
    for n in v {
        out.push_str(&n.pack.to_hex());
        out.push(' ');
        match n.stamp {
            Some(t) => out.push_str(&t.to_string()),
            None => out.push('-'),
        }
        if let Some((k, id)) = n.blob {
            out.push_str(&format!(" {k} {}", id.to_hex()));
        }
        out.push('\n');
    }
    out
}

/// Parse a damage note; unreadable lines are skipped (notes are advice
/// about which copies to avoid, never the only record of data).
pub fn decode_notes(text: &str) -> Vec<Note> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            let pack = Id::from_hex(it.next()?)?;
            let stamp = match it.next()? {
                "-" => None,
                t => Some(t.parse().ok()?),
            };
            let blob = match (it.next(), it.next(), it.next()) {
                (None, _, _) => None,
                (Some(k), Some(id), None) => {
                    Some((ObjectKind::from_u8(k.parse().ok()?)?, Id::from_hex(id)?))
                }
                _ => return None,
            };
            Some(Note::new(pack, stamp, blob))
        })
        .collect()
}

/// One pack `gc --remote` has condemned: it will be deleted by a gc run at
/// least a grace period after `since`, if it is still dead then and still
/// the object it was (`stamp`, its last-modified time in milliseconds when
/// condemned). `since` is `None` in a note for entries condemned by the
/// run that wrote it: the note's own last-modified time dates them, so the
/// store's clock, not a client's, measures the grace period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Condemned {
    pub pack: Id,
    pub stamp: u64,
    pub since: Option<u64>,
}

/// Encode a condemnation note: one `<pack id> <stamp> <since or ->` per
/// line, sorted, so equal notes have equal names.
pub fn encode_condemned(entries: &[Condemned]) -> String {
    let mut v = entries.to_vec();
    v.sort();
    v.dedup();
    let mut out = String::new();
    for c in v {
        out.push_str(&c.pack.to_hex());
        out.push(' ');
        out.push_str(&c.stamp.to_string());
        out.push(' ');
        match c.since {
            Some(t) => out.push_str(&t.to_string()),
            None => out.push('-'),
        }
        out.push('\n');
    }
    out
}

/// Parse a condemnation note; unreadable lines are skipped. Skipping is
/// safe both ways: gc deletes only packs a note condemns, and a pack no
/// note condemns is condemned afresh (and its grace period starts again).
pub fn decode_condemned(text: &str) -> Vec<Condemned> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.split(' ');
            let pack = Id::from_hex(it.next()?)?;
            let stamp = parse_ms(it.next()?)?;
            let since = match it.next()? {
                "-" => None,
                t => Some(parse_ms(t)?),
            };
            if it.next().is_some() {
                return None;
            }
            Some(Condemned { pack, stamp, since })
        })
        .collect()
}

/// Milliseconds as written: plain decimal digits only (no sign, no `+`),
/// so each value has one spelling and notes re-encode to the same bytes.
fn parse_ms(t: &str) -> Option<u64> {
    if t.is_empty() || !t.bytes().all(|b| b.is_ascii_digit()) || (t.len() > 1 && t.starts_with('0'))
    {
        return None;
    }
    t.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::remote::index::index_id_of;

    #[test]
    fn damage_notes_round_trip() {
        let notes = vec![
            Note::new(Id::of(b"p"), None, None),
            Note::new(
                Id::of(b"q"),
                Some(1_700_000_000_123),
                Some((ObjectKind::Segment, Id::of(b"s"))),
            ),
        ];
        let text = encode_notes(&notes);
        let mut back = decode_notes(&text);
        back.sort();
        let mut want = notes.clone();
        want.sort();
        assert_eq!(back, want);
        assert_eq!(encode_notes(&back), text);
        assert!(decode_notes("junk\n1 2\nab -\n").is_empty());
    }

    #[test]
    fn condemnation_notes_round_trip() {
        let entries = vec![
            Condemned {
                pack: Id::of(b"p"),
                stamp: 1_700_000_000_123,
                since: None,
            },
            Condemned {
                pack: Id::of(b"q"),
                stamp: 0,
                since: Some(1_700_000_100_000),
            },
        ];
        let text = encode_condemned(&entries);
        assert_eq!(text.lines().count(), 2);
        let mut back = decode_condemned(&text);
        back.sort();
        let mut want = entries.clone();
        want.sort();
        assert_eq!(back, want);
        assert_eq!(encode_condemned(&back), text);
        let p = Id::of(b"p").to_hex();
        // Junk, missing or extra fields, signs and leading zeros are skipped.
        for bad in [
            "junk".to_string(),
            p.clone(),
            format!("{p} 12"),
            format!("{p} -"),
            format!("{p} 12 - x"),
            format!("{p} +12 -"),
            format!("{p} 012 -"),
            format!("{p} 12 -5"),
            format!("{p} 99999999999999999999999 -"),
            format!("{} 1 -", &p[1..]),
        ] {
            assert!(decode_condemned(&bad).is_empty(), "{bad}");
        }
        assert_eq!(decode_condemned(&format!("junk\n{p} 0 -\n")).len(), 1);
        let path = format!("index/{}{CONDEMN_SUFFIX}", Id::of(b"n").to_hex());
        assert_eq!(condemn_id_of(&path), Some(Id::of(b"n")));
        assert_eq!(damage_id_of(&path), None);
        assert_eq!(index_id_of(&path), None);
    }
}
