//! Content-defined chunking.
//!
//! Files are cut where a gear rolling hash over the last bytes hits a mask, so
//! a boundary depends only on nearby content: after an insert or delete the
//! cuts re-synchronise and every later chunk (and its id) is unchanged. That
//! is what makes a 1 MiB edit to a 1 GiB file cost about 1 MiB of storage.
//!
//! The algorithm is FastCDC (2020) with normalised chunking: below the average
//! size a stricter mask makes cuts rarer, above it a looser mask makes them
//! likelier, which narrows the size distribution. The gear table and the sizes
//! are part of the format (docs/FORMAT.md, "Chunking"); changing either changes
//! chunk ids, so they are frozen for format version 1 and checked by a test
//! vector.

use std::sync::OnceLock;

/// Size limits and masks of the chunker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub min: usize,
    pub avg: usize,
    pub max: usize,
}

/// The parameters of format version 1.
pub const V1: Params = Params {
    min: 16 * 1024,
    avg: 64 * 1024,
    max: 256 * 1024,
};

/// Seed the gear table is derived from; part of format v1.
const GEAR_SEED: &[u8] = b"cairn gear table v1";

/// 256 pseudo-random 64-bit words, derived from BLAKE3's XOF so the table is
/// reproducible from one line of the spec rather than a pasted constant.
pub fn gear_table() -> &'static [u64; 256] {
    static TABLE: OnceLock<[u64; 256]> = OnceLock::new();
    TABLE.get_or_init(|| {
        let mut bytes = [0u8; 256 * 8];
        blake3::Hasher::new()
            .update(GEAR_SEED)
            .finalize_xof()
            .fill(&mut bytes);
        let mut t = [0u64; 256];
        for (i, w) in bytes.chunks_exact(8).enumerate() {
            let mut b = [0u8; 8];
            b.copy_from_slice(w);
            t[i] = u64::from_le_bytes(b);
        }
        t
    })
}

/// A chunker for one parameter set.
#[derive(Debug, Clone, Copy)]
pub struct Chunker {
    params: Params,
    /// Stricter mask, used before `avg`: log2(avg)+2 high bits.
    mask_s: u64,
    /// Looser mask, used after `avg`: log2(avg)-2 high bits.
    mask_l: u64,
}

impl Default for Chunker {
    fn default() -> Self {
        Chunker::new(V1)
    }
}

fn high_bits(n: u32) -> u64 {
    // The high bits of a gear hash depend on the most recent bytes (each step
    // shifts left by one), so masking high bits gives a 40-64 byte window.
    !0u64 << (64 - n)
}

impl Chunker {
    pub fn new(params: Params) -> Chunker {
        assert!(params.min > 0 && params.min <= params.avg && params.avg <= params.max);
        let bits = params.avg.trailing_zeros();
        Chunker {
            params,
            mask_s: high_bits(bits + 2),
            mask_l: high_bits(bits - 2),
        }
    }

    pub fn params(&self) -> Params {
        self.params
    }

    /// Length of the chunk that starts at `data[0]`.
    ///
    /// Returns `None` when no cut is found and more input could still move it:
    /// `data` is shorter than `max` and `eof` is false. At end of input the
    /// rest is one final chunk.
    pub fn cut(&self, data: &[u8], eof: bool) -> Option<usize> {
        let Params { min, avg, max } = self.params;
        if data.is_empty() {
            return None;
        }
        if data.len() <= min {
            return if eof { Some(data.len()) } else { None };
        }
        let end = data.len().min(max);
        let normal = end.min(avg);
        let gear = gear_table();
        let mut h: u64 = 0;
        // Iterators rather than indexing: no bounds checks in the hot loop.
        for (i, &b) in data[min..normal].iter().enumerate() {
            h = (h << 1).wrapping_add(gear[b as usize]);
            if h & self.mask_s == 0 {
                return Some(min + i + 1);
            }
        }
        let start = min.max(normal);
        for (i, &b) in data[start..end].iter().enumerate() {
            h = (h << 1).wrapping_add(gear[b as usize]);
            if h & self.mask_l == 0 {
                return Some(start + i + 1);
            }
        }
        if end == max || eof {
            Some(end)
        } else {
            None
        }
    }

    /// Cut a whole in-memory buffer; yields `(offset, len)` pairs.
    pub fn chunks<'a>(&self, data: &'a [u8]) -> impl Iterator<Item = (usize, usize)> + 'a {
        let chunker = *self;
        let mut pos = 0;
        std::iter::from_fn(move || {
            let len = chunker.cut(&data[pos..], true)?;
            let item = (pos, len);
            pos += len;
            Some(item)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn pseudo_random(len: usize, seed: u64) -> Vec<u8> {
        let mut out = vec![0u8; len];
        let mut key = [0u8; 32];
        key[..8].copy_from_slice(&seed.to_le_bytes());
        blake3::Hasher::new_keyed(&key)
            .finalize_xof()
            .fill(&mut out);
        out
    }

    fn small() -> Chunker {
        Chunker::new(Params {
            min: 64,
            avg: 256,
            max: 1024,
        })
    }

    #[test]
    fn sizes_stay_in_bounds() {
        let data = pseudo_random(4 << 20, 1);
        let c = Chunker::default();
        let cuts: Vec<_> = c.chunks(&data).collect();
        for (i, &(_, len)) in cuts.iter().enumerate() {
            assert!(len <= V1.max);
            if i + 1 < cuts.len() {
                assert!(len > V1.min, "chunk {i} is {len} bytes");
            }
        }
        let avg = data.len() / cuts.len();
        assert!((32 * 1024..=128 * 1024).contains(&avg), "average {avg}");
    }

    #[test]
    fn streaming_needs_more_input_until_max() {
        let c = small();
        let zeros = vec![0u8; 500];
        // All-zero input never hits the mask; below max we must wait for more.
        assert_eq!(c.cut(&zeros, false), None);
        assert_eq!(c.cut(&zeros, true), Some(500));
        assert_eq!(c.cut(&vec![0u8; 2000], false), Some(1024));
        assert_eq!(c.cut(&[], true), None);
    }

    proptest! {
        #[test]
        fn chunks_concatenate_back(data in proptest::collection::vec(any::<u8>(), 0..20_000)) {
            let c = small();
            let mut pos = 0;
            for (off, len) in c.chunks(&data) {
                prop_assert_eq!(off, pos);
                prop_assert!(len > 0 && len <= 1024);
                pos += len;
            }
            prop_assert_eq!(pos, data.len());
        }

        #[test]
        fn boundaries_resync_after_insert(seed in any::<u64>(), at in 0usize..40_000, ins in proptest::collection::vec(any::<u8>(), 1..300)) {
            let c = small();
            let base = pseudo_random(60_000, seed);
            let at = at.min(base.len());
            let mut edited = base[..at].to_vec();
            edited.extend_from_slice(&ins);
            edited.extend_from_slice(&base[at..]);
            let cuts_a: Vec<usize> = c.chunks(&base).map(|(o, l)| o + l).collect();
            let shift = ins.len();
            let cuts_b: std::collections::HashSet<usize> =
                c.chunks(&edited).map(|(o, l)| o + l).filter(|&e| e > shift).map(|e| e - shift).collect();
            // Cuts after the edit re-synchronise within a few chunks: only a
            // handful of the original's later cuts may be missing.
            let later: Vec<_> = cuts_a.iter().filter(|&&x| x > at).collect();
            let lost = later.iter().filter(|x| !cuts_b.contains(x)).count();
            prop_assert!(lost <= 24, "lost {} of {} cuts", lost, later.len());
            // And the final stretch is identical.
            prop_assert!(later.last().is_none_or(|x| cuts_b.contains(x)));
        }
    }
}
