//! Measure chunking parameters on real data, to choose the format's average
//! chunk size (figures recorded in docs/FORMAT.md, "Chunking").
//!
//! Usage: cargo bench --bench chunk_params -- ORIGINAL EDITED
//! (a plain `cargo bench` runs it without files, and it skips).
//!
//! For each candidate average size it reports the chunk count of ORIGINAL
//! (index size), the compressed size of ORIGINAL stored chunk by chunk, the
//! chunking speed, and how many bytes of EDITED are in chunks ORIGINAL lacks
//! (raw and compressed): the cost of storing the edit.

use std::collections::HashSet;
use std::time::Instant;

use cairn::format::chunking::{Chunker, Params};
use cairn::format::codec::compress;
use cairn::hash::Id;
use rayon::prelude::*;

fn main() {
    // cargo passes `--bench` (and filters) to every bench binary.
    let args: Vec<String> = std::env::args().filter(|a| !a.starts_with("--")).collect();
    if args.len() != 3 {
        eprintln!(
            "chunk_params: skipped (usage: cargo bench --bench chunk_params -- ORIGINAL EDITED)"
        );
        return;
    }
    let a = std::fs::read(&args[1]).expect("read ORIGINAL");
    let b = std::fs::read(&args[2]).expect("read EDITED");
    println!("| avg | chunks | stored/raw | chunking MB/s (1 core) | edit: new raw MB | edit: new stored MB |");
    println!("|---|---|---|---|---|---|");
    for avg_kib in [32usize, 64, 128, 256, 512, 1024] {
        let avg = avg_kib * 1024;
        let c = Chunker::new(Params {
            min: avg / 4,
            avg,
            max: avg * 4,
        });
        let t = Instant::now();
        let cuts_a: Vec<(usize, usize)> = c.chunks(&a).collect();
        let secs = t.elapsed().as_secs_f64();
        let ids_a: HashSet<Id> = cuts_a
            .par_iter()
            .map(|&(o, l)| Id::of(&a[o..o + l]))
            .collect();
        let stored_a: usize = cuts_a
            .par_iter()
            .map(|&(o, l)| compress(&a[o..o + l]).map_or(l, |v| v.len()))
            .sum();
        let cuts_b: Vec<(usize, usize)> = c.chunks(&b).collect();
        let new: Vec<(usize, usize)> = cuts_b
            .into_iter()
            .filter(|&(o, l)| !ids_a.contains(&Id::of(&b[o..o + l])))
            .collect();
        let new_raw: usize = new.iter().map(|&(_, l)| l).sum();
        let new_stored: usize = new
            .par_iter()
            .map(|&(o, l)| compress(&b[o..o + l]).map_or(l, |v| v.len()))
            .sum();
        println!(
            "| {avg_kib} KiB | {} | {:.3} | {:.0} | {:.2} | {:.2} |",
            cuts_a.len(),
            stored_a as f64 / a.len() as f64,
            a.len() as f64 / secs / 1e6,
            new_raw as f64 / 1e6,
            new_stored as f64 / 1e6
        );
    }
}
