//! Unit tests of ranged reads: how a restore's blobs are grouped into
//! reads of a remote pack.

use super::*;
use crate::transfer::fetch_spans::tests::e;

#[test]
fn only_close_neighbours_share_a_read() {
    let p = Id::of(b"p");
    let spans = reads(p, vec![e(166 + GAP + 1, 10), e(16, 100), e(116, 50)]);
    assert_eq!(spans.len(), 2);
    assert_eq!(spans[0].range, 16..166);
    assert_eq!(spans[0].blobs.len(), 2);
    assert_eq!(spans[1].blobs.len(), 1);
}

/// A remote's index may list a blob of no bytes: it is read with its
/// neighbours, without an underflow.
#[test]
fn a_blob_of_no_bytes_is_planned_like_any_other() {
    let p = Id::of(b"p");
    let spans = reads(p, vec![e(16, 0), e(16, 10), e(26, 5)]);
    assert_eq!(spans.iter().map(|s| s.blobs.len()).sum::<usize>(), 3);
    assert_eq!(spans[0].range.start, 16);
}

/// A restore's round of 16 MiB, stored a little longer, is two even
/// reads (cut at 8 MiB it was two full ones and a sliver), and no read
/// is ever longer than [`MAX_READ`].
#[test]
fn a_long_run_is_the_fewest_even_reads() {
    let p = Id::of(b"p");
    let mut round: Vec<Entry> = (0..64)
        .map(|i| e(16 + i * (256 << 10), 256 << 10))
        .collect();
    round.push(e(16 + 64 * (256 << 10), 10 << 10));
    let spans = reads(p, round.clone());
    assert_eq!(
        spans.len(),
        2,
        "{:?}",
        spans.iter().map(|s| s.range.clone()).collect::<Vec<_>>()
    );
    let lens: Vec<u64> = spans.iter().map(|s| s.range.end - s.range.start).collect();
    assert!(
        lens.iter().all(|&l| l > 7 << 20 && l <= MAX_READ),
        "{lens:?}"
    );
    assert_eq!(
        spans.iter().map(|s| s.blobs.len()).sum::<usize>(),
        round.len()
    );
    assert_eq!(spans[0].range.end, spans[1].range.start);
    for n in [1u64, 3, 20, 61, 64] {
        let big: Vec<Entry> = (0..n).map(|i| e(16 + i * (1 << 20), 1 << 20)).collect();
        let spans = reads(p, big);
        let fewest = (n << 20).div_ceil(MAX_READ - (1 << 20));
        assert_eq!(spans.len() as u64, fewest, "{n} MiB");
        assert!(spans
            .iter()
            .all(|s| s.range.end - s.range.start <= MAX_READ));
    }
}
