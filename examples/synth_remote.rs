//! Write synthetic index files into a folder remote, so it describes
//! `GB` gigabytes of packs that do not exist (see `cairn::remote::synth`):
//! for measuring what remote metadata costs at scale without the data.
//!
//!     cargo run --release --example synth_remote -- FOLDER GB [SEED]
//!
//! Used by bench/locators.sh. Not a cairn command.

use cairn::remote::synth::{files, Spec};

fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (Some(folder), Some(gb)) = (args.get(1), args.get(2).and_then(|g| g.parse::<u64>().ok()))
    else {
        eprintln!("usage: synth_remote FOLDER GB [SEED]");
        std::process::exit(2);
    };
    let seed = args.get(3).map_or("bench", String::as_str);
    let spec = Spec::of_size(gb << 30, seed);
    let root = std::path::Path::new(folder);
    std::fs::create_dir_all(root.join("index"))?;
    let mut total = 0u64;
    for (path, bytes) in files(&spec) {
        total += bytes.len() as u64;
        std::fs::write(root.join(path), bytes)?;
    }
    println!(
        "{} index file(s), {total} bytes, describing {gb} GiB",
        spec.index_files()
    );
    Ok(())
}
