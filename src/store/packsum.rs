//! Pack sums: a 40-byte sidecar `packs/xx/<pack id>.sum` beside each pack
//! the cache writes, holding the pack's length and XXH3-128 of every byte of
//! it (FORMAT.md §6.8).
//!
//! It exists so that a push can check a cache pack it sends unchanged by
//! reading its bytes once (about 40 ms per GB of hashing) instead of
//! decoding and re-hashing every blob in it. It guards against accidental
//! damage only (bit rot, a torn or truncated file, a flipped byte): anyone
//! who can rewrite a pack can rewrite its sum too. The sum is a hint, never
//! a verdict: a missing, unreadable or malformed sum, or one that does not
//! match the pack's bytes, only means "check the blobs one by one", and
//! only that blob-by-blob check ever calls a pack damaged. The sum is
//! computed from the bytes the writer handed to the file, as it wrote them,
//! so a write the disk garbled shows up as a mismatch.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use crate::error::{Error, Result};

/// First bytes of a sum file: `"CAIRNSM\x01"`.
pub const SUM_MAGIC: [u8; 8] = *b"CAIRNSM\x01";
/// The layout version this code writes and reads.
pub const SUM_VERSION: u32 = 1;
/// Bytes of a sum file: magic, version, reserved, length, XXH3-128.
pub const SUM_LEN: usize = 40;

/// Bytes read at a time when a pack is summed from its file.
const READ_STEP: usize = 1 << 20;

/// A pack's length and the XXH3-128 of all its bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PackSum {
    pub len: u64,
    pub xxh3: u128,
}

impl PackSum {
    /// The sum file's bytes (FORMAT.md §6.8): integers little-endian, the
    /// hash in XXH3-128's canonical (big-endian) form, as `xxh128sum`
    /// prints it.
    pub fn encode(&self) -> [u8; SUM_LEN] {
        let mut out = [0u8; SUM_LEN];
        out[..8].copy_from_slice(&SUM_MAGIC);
        out[8..12].copy_from_slice(&SUM_VERSION.to_le_bytes());
        // 12..16 reserved, zero.
        out[16..24].copy_from_slice(&self.len.to_le_bytes());
        out[24..40].copy_from_slice(&self.xxh3.to_be_bytes());
        out
    }

    /// Parse a sum file. Anything but exactly a version-1 sum with zero
    /// reserved bytes is `None`: no sum, so no fast path.
    pub fn decode(bytes: &[u8]) -> Option<PackSum> {
        if bytes.len() != SUM_LEN || bytes[..8] != SUM_MAGIC {
            return None;
        }
        let version = u32::from_le_bytes(bytes[8..12].try_into().ok()?);
        if version != SUM_VERSION || bytes[12..16] != [0; 4] {
            return None;
        }
        Some(PackSum {
            len: u64::from_le_bytes(bytes[16..24].try_into().ok()?),
            xxh3: u128::from_be_bytes(bytes[24..40].try_into().ok()?),
        })
    }
}

/// The sum of bytes fed in order, as a pack is written or read.
#[derive(Clone)]
pub struct Summer {
    state: Xxh3,
    len: u64,
}

impl Default for Summer {
    fn default() -> Self {
        Summer {
            state: Xxh3::new(),
            len: 0,
        }
    }
}

impl Summer {
    pub fn update(&mut self, bytes: &[u8]) {
        self.state.update(bytes);
        self.len += bytes.len() as u64;
    }

    /// Bytes fed so far.
    pub fn bytes(&self) -> u64 {
        self.len
    }

    pub fn finish(&self) -> PackSum {
        PackSum {
            len: self.len,
            xxh3: self.state.digest128(),
        }
    }
}

/// Where the sum of the pack at `pack` lives: beside it, `<pack id>.sum`.
pub fn sum_path(pack: &Path) -> PathBuf {
    pack.with_extension("sum")
}

/// The recorded sum of the pack at `pack`, if a well-formed one exists.
/// A missing, unreadable or malformed file is `None` (reading stops past
/// [`SUM_LEN`] bytes, so a huge file there costs nothing).
pub fn read_sum(pack: &Path) -> Option<PackSum> {
    let mut buf = Vec::with_capacity(SUM_LEN + 1);
    File::open(sum_path(pack))
        .ok()?
        .take(SUM_LEN as u64 + 1)
        .read_to_end(&mut buf)
        .ok()?;
    PackSum::decode(&buf)
}

/// Sum the bytes `file` holds now, reading it from the start.
pub fn sum_file(path: &Path, file: &File) -> Result<PackSum> {
    let mut summer = Summer::default();
    let mut buf = vec![0u8; READ_STEP];
    let mut reader = file;
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|e| Error::io("read pack", path, e))?;
        if n == 0 {
            return Ok(summer.finish());
        }
        summer.update(&buf[..n]);
    }
}

/// Whether the pack at `path` still holds exactly the bytes its sum
/// records: `Ok(false)` when it has no sum or they differ (the caller then
/// checks its blobs one by one), an error only when the pack cannot be
/// read.
pub fn matches(path: &Path) -> Result<bool> {
    let Some(recorded) = read_sum(path) else {
        return Ok(false);
    };
    let file = File::open(path).map_err(|e| Error::io("open pack", path, e))?;
    let len = file
        .metadata()
        .map_err(|e| Error::io("stat pack", path, e))?
        .len();
    if len != recorded.len {
        // Truncated or grown: no need to read it to know.
        return Ok(false);
    }
    Ok(sum_file(path, &file)? == recorded)
}

/// Write `sum` as the sidecar of the pack that is about to be renamed to
/// `dest`: under a temporary name in `tmp` (the cache's `tmp/`, emptied
/// under the cache lock, so a crash leaves nothing in `packs/`), readable
/// by all like the pack, fsynced, then renamed beside where the pack will
/// be. The caller fsyncs that directory after renaming the pack.
pub fn write_sum(tmp: &Path, dest: &Path, sum: &PackSum) -> Result<()> {
    let mut f = tempfile::Builder::new()
        .prefix("sum-")
        .suffix(".tmp")
        .tempfile_in(tmp)
        .map_err(|e| Error::io("create pack sum in", tmp, e))?;
    let at = f.path().to_path_buf();
    let io = |e| Error::io("write pack sum", &at, e);
    f.write_all(&sum.encode()).map_err(io)?;
    fs::set_permissions(&at, std::os::unix::fs::PermissionsExt::from_mode(0o644)).map_err(io)?;
    f.as_file().sync_all().map_err(io)?;
    let to = sum_path(dest);
    f.persist(&to)
        .map_err(|e| Error::io("rename pack sum into", &to, e.error))?;
    Ok(())
}

/// Remove the sum of the pack at `pack`, if it has one.
pub fn remove_sum(pack: &Path) -> Result<()> {
    let p = sum_path(pack);
    match fs::remove_file(&p) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(Error::io("remove pack sum", &p, e))
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fixed vector of FORMAT.md appendix A: the pack holding one raw
    /// chunk `abc` (127 bytes) and its sum file.
    #[test]
    fn the_sum_of_a_known_pack_is_the_documented_bytes() {
        use crate::format::codec::Codec;
        use crate::format::kind::ObjectKind;
        let mut b = crate::format::pack::PackBuilder::default();
        b.add(
            ObjectKind::Chunk,
            crate::hash::Id::of(b"abc"),
            Codec::Raw,
            b"abc",
            3,
        );
        let (_, pack, _) = b.finish();
        assert_eq!(pack.len(), 127);
        let mut s = Summer::default();
        s.update(&pack[..50]);
        s.update(&pack[50..]);
        let sum = s.finish();
        assert_eq!(sum.len, 127);
        assert_eq!(sum.xxh3, xxhash_rust::xxh3::xxh3_128(&pack));
        let hex: String = sum.encode().iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(
            hex,
            "434149524e534d0101000000000000007f000000000000000f50d23d50961cd74d36622880014b13"
        );
        assert_eq!(PackSum::decode(&sum.encode()), Some(sum));
    }

    #[test]
    fn anything_but_a_well_formed_sum_is_no_sum() {
        let good = PackSum { len: 7, xxh3: 99 }.encode();
        assert!(PackSum::decode(&good).is_some());
        assert_eq!(PackSum::decode(&good[..39]), None);
        let mut long = good.to_vec();
        long.push(0);
        assert_eq!(PackSum::decode(&long), None);
        for at in [0, 8, 12] {
            let mut bad = good;
            bad[at] ^= 1;
            assert_eq!(PackSum::decode(&bad), None, "byte {at}");
        }
    }

    #[test]
    fn a_file_matches_its_sum_until_a_byte_changes() {
        let dir = tempfile::tempdir().unwrap();
        let pack = dir.path().join("p.pack");
        let bytes: Vec<u8> = (0..3_000_000u32).map(|i| (i % 251) as u8).collect();
        fs::write(&pack, &bytes).unwrap();
        assert!(!matches(&pack).unwrap(), "no sum yet");
        let mut s = Summer::default();
        s.update(&bytes);
        write_sum(dir.path(), &pack, &s.finish()).unwrap();
        assert!(matches(&pack).unwrap());
        let mut flipped = bytes.clone();
        flipped[2_000_000] ^= 4;
        fs::write(&pack, &flipped).unwrap();
        assert!(!matches(&pack).unwrap());
        fs::write(&pack, &bytes[..bytes.len() - 1]).unwrap();
        assert!(!matches(&pack).unwrap());
        fs::write(sum_path(&pack), b"garbage").unwrap();
        fs::write(&pack, &bytes).unwrap();
        assert!(!matches(&pack).unwrap());
        remove_sum(&pack).unwrap();
        remove_sum(&pack).unwrap();
        assert!(!sum_path(&pack).exists());
    }
}
