//! Measure zstd settings on real data, chunk by chunk as cairn stores it, to
//! choose the writer's compression policy (figures recorded in
//! docs/FORMAT.md §4.1).
//!
//! Usage: cargo bench --bench codec_levels -- FILE [MIB]
//! (a plain `cargo bench` runs it without a file, and it skips).
//!
//! It reads the first MIB (default 512) MiB of FILE, cuts them with the
//! format's chunker, and for each candidate setting compresses every chunk
//! on its own (with the 8 KiB incompressibility probe: separate, as before
//! format notes of 2026-12, or as the first block of the frame, as now),
//! then decompresses them all. Speeds are per core and use the thread's CPU
//! time, not the wall clock, so that other work on a shared machine moves
//! them less.

use cairn::format::chunking::Chunker;
use zstd::zstd_safe::{self, zstd_sys::ZSTD_EndDirective, CCtx, CParameter, InBuffer, OutBuffer};
use zstd::zstd_safe::{DCtx, ResetDirective};

const PROBE: usize = 8192;

fn shrinks(raw: usize, packed: usize) -> bool {
    packed + raw / 32 < raw
}

/// CPU seconds used by this thread so far.
fn cpu() -> f64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a plain syscall writing into a local timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9
}

#[derive(Clone, Copy)]
enum Probe {
    /// Compress the first 8 KiB on their own, then the whole chunk.
    Separate,
    /// The first 8 KiB are the frame's first (flushed) block.
    InFrame,
}

fn stream(c: &mut CCtx, out: &mut OutBuffer<'_, Vec<u8>>, src: &[u8], how: ZSTD_EndDirective) {
    let mut src = InBuffer::around(src);
    while c.compress_stream2(out, &mut src, how).expect("zstd") != 0 {}
}

/// Compressed length of `raw`, or `None` when it is stored raw.
fn compress(c: &mut CCtx, raw: &[u8], probe: Probe, out: &mut Vec<u8>) -> Option<usize> {
    out.clear();
    out.reserve(zstd_safe::compress_bound(raw.len()) + 64);
    c.reset(ResetDirective::SessionOnly).expect("reset");
    match probe {
        Probe::Separate => {
            if raw.len() > 2 * PROBE {
                let n = c.compress2(out, &raw[..PROBE]).expect("zstd");
                if !shrinks(PROBE, n) {
                    return None;
                }
                out.clear();
                c.reset(ResetDirective::SessionOnly).expect("reset");
            }
            let n = c.compress2(out, raw).expect("zstd");
            shrinks(raw.len(), n).then_some(n)
        }
        Probe::InFrame => {
            c.set_pledged_src_size(Some(raw.len() as u64))
                .expect("size");
            let mut dst = OutBuffer::around(out);
            let rest = if raw.len() > 2 * PROBE {
                stream(c, &mut dst, &raw[..PROBE], ZSTD_EndDirective::ZSTD_e_flush);
                if !shrinks(PROBE, dst.pos()) {
                    return None;
                }
                &raw[PROBE..]
            } else {
                raw
            };
            stream(c, &mut dst, rest, ZSTD_EndDirective::ZSTD_e_end);
            let n = dst.pos();
            shrinks(raw.len(), n).then_some(n)
        }
    }
}

fn main() {
    // cargo passes `--bench` (and filters) to every bench binary.
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    let Some(path) = args.get(1) else {
        eprintln!("codec_levels: skipped (usage: cargo bench --bench codec_levels -- FILE [MIB])");
        return;
    };
    let mib: usize = args.get(2).map_or(512, |s| s.parse().expect("MIB"));
    let mut data = std::fs::read(path).expect("read FILE");
    data.truncate(mib << 20);
    let cuts: Vec<(usize, usize)> = Chunker::default().chunks(&data).collect();
    let total = data.len() as f64;
    println!(
        "{}: {:.0} MiB in {} chunks",
        path,
        total / (1 << 20) as f64,
        cuts.len()
    );
    use CParameter::{CompressionLevel, HashLog, MinMatch, TargetLength};
    let settings: Vec<(&str, i32, Vec<CParameter>, Probe)> = vec![
        ("1, separate probe", 1, vec![], Probe::Separate),
        ("1, in-frame probe", 1, vec![], Probe::InFrame),
        ("-1", -1, vec![], Probe::InFrame),
        ("-2", -2, vec![], Probe::InFrame),
        ("2", 2, vec![], Probe::InFrame),
        ("3", 3, vec![], Probe::InFrame),
        ("1, hashLog 12", 1, vec![HashLog(12)], Probe::InFrame),
        ("1, hashLog 14", 1, vec![HashLog(14)], Probe::InFrame),
        ("1, minMatch 7", 1, vec![MinMatch(7)], Probe::InFrame),
        ("1, minMatch 6", 1, vec![MinMatch(6)], Probe::InFrame),
        (
            "1, minMatch 6, hashLog 14",
            1,
            vec![MinMatch(6), HashLog(14)],
            Probe::InFrame,
        ),
        (
            "1, minMatch 7, hashLog 13",
            1,
            vec![MinMatch(7), HashLog(13)],
            Probe::InFrame,
        ),
        (
            "1, minMatch 7, hashLog 14",
            1,
            vec![MinMatch(7), HashLog(14)],
            Probe::InFrame,
        ),
        (
            "1, minMatch 7, hashLog 15",
            1,
            vec![MinMatch(7), HashLog(15)],
            Probe::InFrame,
        ),
        (
            "1, targetLength 2",
            1,
            vec![TargetLength(2)],
            Probe::InFrame,
        ),
        (
            "1, minMatch 7, targetLength 2",
            1,
            vec![MinMatch(7), TargetLength(2)],
            Probe::InFrame,
        ),
        (
            "1, minMatch 7, hashLog 14, targetLength 2",
            1,
            vec![MinMatch(7), HashLog(14), TargetLength(2)],
            Probe::InFrame,
        ),
    ];
    println!("| level | stored / raw | compress MB/s, 1 core | decompress MB/s, 1 core |");
    println!("|---|---|---|---|");
    let mut out = Vec::new();
    let mut dctx = DCtx::create();
    let mut buf = vec![0u8; 1 << 20];
    for (name, level, extra, probe) in settings {
        let mut c = CCtx::create();
        c.set_parameter(CompressionLevel(level)).expect("level");
        for p in extra {
            c.set_parameter(p).expect("parameter");
        }
        let mut stored = 0usize;
        let mut packed: Vec<Option<Vec<u8>>> = Vec::with_capacity(cuts.len());
        let t = cpu();
        for &(o, l) in &cuts {
            match compress(&mut c, &data[o..o + l], probe, &mut out) {
                Some(n) => {
                    stored += n;
                    packed.push(Some(out[..n].to_vec()));
                }
                None => {
                    stored += l;
                    packed.push(None);
                }
            }
        }
        let tc = cpu() - t;
        let t = cpu();
        for (p, &(_, l)) in packed.iter().zip(&cuts) {
            if let Some(p) = p {
                let n = dctx.decompress(&mut buf[..l], p).expect("zstd");
                assert_eq!(n, l);
            }
        }
        let td = cpu() - t;
        println!(
            "| {name} | {:.4} | {:.0} | {:.0} |",
            stored as f64 / total,
            total / tc / 1e6,
            total / td / 1e6
        );
    }
}
