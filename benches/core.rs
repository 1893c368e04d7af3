//! Micro-benchmarks of cairn's hot paths: chunking, hashing, compression and
//! manifest (de)serialisation.
//!
//! Run with `cargo bench --bench core` (under a minute of measuring on 2
//! cores, plus the build), or
//! `cargo bench --bench core -- --quick` for a rough pass. A filter selects
//! groups, e.g. `cargo bench --bench core -- chunking`.
//!
//! All inputs are generated deterministically: pseudo-random bytes come from
//! BLAKE3's XOF, CSV-like text from formatted rows, so numbers are comparable
//! between runs and machines.

use std::hint::black_box;
use std::time::Duration;

use cairn::format::chunking::Chunker;
use cairn::format::codec::{self, Codec};
use cairn::format::object::{Form, Manifest, Piece};
use cairn::hash::Id;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};

const KIB: usize = 1024;
const MIB: usize = 1024 * KIB;
/// Size of the "large" buffers: chunking and whole-file hashing.
const BIG: usize = 64 * MIB;
/// Size of one chunk (the chunker's average) for per-chunk benchmarks.
const CHUNK: usize = 64 * KIB;

/// `len` pseudo-random (incompressible) bytes, a function of `seed` only.
fn random_bytes(len: usize, seed: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(seed)
        .finalize_xof()
        .fill(&mut out);
    out
}

/// `len` bytes of CSV-like text: an id, a date, a category, two numbers and a
/// short label per row, with enough variety to look like real data (roughly
/// 3-4x compressible with zstd level 1, like the benchmark CSV).
fn csv_bytes(len: usize) -> Vec<u8> {
    use std::fmt::Write;
    const CATS: [&str; 6] = ["alpha", "beta", "gamma", "delta", "epsilon", "zeta"];
    let mut s = String::with_capacity(len + 128);
    s.push_str("id,date,category,value,score,label\n");
    // A small LCG gives varied digits without depending on `rand`.
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut i: u64 = 0;
    while s.len() < len {
        x = x
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        let r = x >> 16;
        let _ = writeln!(
            s,
            "{i},2024-{:02}-{:02},{},{}.{:03},{:.4},item-{}",
            1 + r % 12,
            1 + (r >> 8) % 28,
            CATS[((r >> 16) % 6) as usize],
            (r >> 20) % 100_000,
            (r >> 40) % 1000,
            ((r >> 24) % 1_000_000) as f64 / 1_000_000.0,
            (r >> 32) % 5000,
        );
        i += 1;
    }
    let mut b = s.into_bytes();
    b.truncate(len);
    b
}

fn small_group<'a>(
    c: &'a mut Criterion,
    name: &str,
) -> BenchmarkGroup<'a, criterion::measurement::WallTime> {
    let mut g = c.benchmark_group(name);
    g.sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(3));
    g
}

fn bench_chunking(c: &mut Criterion) {
    let chunker = Chunker::default();
    let random = random_bytes(BIG, b"cairn bench random");
    let csv = csv_bytes(BIG);
    let mut g = small_group(c, "chunking");
    g.throughput(Throughput::Bytes(BIG as u64));
    for (name, data) in [("random_64MiB", &random), ("csv_64MiB", &csv)] {
        g.bench_function(name, |b| {
            b.iter(|| {
                let total: usize = chunker.chunks(black_box(data)).map(|(_, len)| len).sum();
                assert_eq!(total, data.len());
                total
            })
        });
    }
    g.finish();
}

fn bench_hash(c: &mut Criterion) {
    let data = random_bytes(BIG, b"cairn bench hash");
    let mut g = small_group(c, "hash");
    g.throughput(Throughput::Bytes(CHUNK as u64));
    g.bench_function("id_of_64KiB", |b| {
        b.iter(|| Id::of(black_box(&data[..CHUNK])))
    });
    g.throughput(Throughput::Bytes(BIG as u64));
    g.bench_function("id_of_64MiB", |b| b.iter(|| Id::of(black_box(&data))));
    g.finish();
}

fn bench_codec(c: &mut Criterion) {
    let csv = csv_bytes(CHUNK);
    let random = random_bytes(CHUNK, b"cairn bench codec");
    let packed = codec::compress(&csv).expect("CSV-like text compresses");
    assert!(codec::compress(&random).is_none(), "random bytes stay raw");
    eprintln!(
        "codec: 64 KiB CSV chunk compresses to {} bytes ({:.2}x)",
        packed.len(),
        csv.len() as f64 / packed.len() as f64
    );

    let mut g = small_group(c, "codec");
    g.throughput(Throughput::Bytes(CHUNK as u64));
    g.bench_function("compress_csv_64KiB", |b| {
        b.iter(|| codec::compress(black_box(&csv)))
    });
    g.bench_function("compress_random_64KiB", |b| {
        b.iter(|| codec::compress(black_box(&random)))
    });
    // Throughput counts the raw (decompressed) bytes produced.
    g.bench_function("decompress_csv_64KiB", |b| {
        b.iter(|| codec::decompress(Codec::Zstd, black_box(&packed), CHUNK).unwrap())
    });
    g.bench_function("decompress_raw_64KiB", |b| {
        b.iter(|| codec::decompress(Codec::Raw, black_box(&random), CHUNK).unwrap())
    });
    g.finish();
}

fn bench_manifest(c: &mut Criterion) {
    // A 1 GiB file at the 64 KiB average is about 16k chunks.
    let pieces: Vec<Piece> = (0..16_384u32)
        .map(|i| Piece {
            id: Id::of(&i.to_le_bytes()),
            len: CHUNK as u64,
        })
        .collect();
    let m = Manifest {
        size: pieces.iter().map(|p| p.len).sum(),
        form: Form::Chunks,
        pieces,
    };
    let bytes = m.encode();
    assert_eq!(Manifest::decode(&bytes).as_ref(), Ok(&m));

    let mut g = small_group(c, "manifest");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("encode_16k_pieces", |b| b.iter(|| black_box(&m).encode()));
    g.bench_function("decode_16k_pieces", |b| {
        b.iter(|| Manifest::decode(black_box(&bytes)).unwrap())
    });
    g.finish();
}

criterion_group!(
    benches,
    bench_chunking,
    bench_hash,
    bench_codec,
    bench_manifest
);
criterion_main!(benches);
