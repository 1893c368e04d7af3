//! Test data and comparisons: deterministic bytes and text, file trees,
//! a two-version dataset, JSON numbers.

use std::collections::BTreeMap;
use std::path::Path;

use super::TestRepo;

/// Repository-relative path -> contents.
pub type Tree = BTreeMap<String, Vec<u8>>;

/// `len` deterministic, incompressible bytes derived from `seed`.
pub fn random_bytes(seed: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(b"cairn test data\0")
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

/// A small xorshift generator for deterministic text.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Deterministic CSV-like text of about `approx_len` bytes: compressible
/// but not trivially repetitive.
pub fn csv_text(seed: u64, approx_len: usize) -> Vec<u8> {
    const NAMES: [&str; 8] = [
        "alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
    ];
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(approx_len + 100);
    out.extend_from_slice(b"id,name,value,count,flag\n");
    let mut i = 0u64;
    while out.len() < approx_len {
        let line = format!(
            "{i},{},{}.{:04},{},{}\n",
            NAMES[rng.below(8) as usize],
            rng.below(100_000),
            rng.below(10_000),
            rng.below(1000),
            rng.below(2) == 1
        );
        out.extend_from_slice(line.as_bytes());
        i += 1;
    }
    out
}

/// BLAKE3 hex of some bytes (what `b3sum` prints).
pub fn b3(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

pub fn write_tree(repo: &TestRepo, files: &Tree) {
    for (p, b) in files {
        repo.write(p, b);
    }
}

/// Every regular file under `dir` (relative to the repository root).
pub fn files_under(repo: &TestRepo, dir: &str) -> Tree {
    let mut out = Tree::new();
    if !repo.exists(dir) {
        return out;
    }
    for e in walkdir::WalkDir::new(repo.path(dir)).min_depth(1) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            let rel = e.path().strip_prefix(&repo.root).unwrap();
            out.insert(
                rel.to_str().unwrap().to_string(),
                std::fs::read(e.path()).unwrap(),
            );
        }
    }
    out
}

/// Compare trees by path and hash (a failure prints hashes, not MiBs).
pub fn assert_same_tree(actual: &Tree, expected: &Tree, what: &str) {
    let summary = |t: &Tree| -> Vec<(String, usize, String)> {
        t.iter()
            .map(|(p, b)| (p.clone(), b.len(), b3(b)[..16].to_string()))
            .collect()
    };
    assert_eq!(summary(actual), summary(expected), "{what}");
}

/// Total size of the files below a directory.
pub fn du(dir: &Path) -> u64 {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.metadata().unwrap().len())
        .sum()
}

pub fn num(v: &serde_json::Value, key: &str) -> u64 {
    v[key].as_u64().unwrap_or_else(|| panic!("{key} in {v}"))
}

/// A directory of small files plus a multi-MiB model, at version 1 or 2.
/// v2 edits one file, drops one, adds one and rewrites 1 MiB of the model.
pub fn dataset(version: u8) -> Tree {
    let mut t = Tree::new();
    let mut rng = Rng::new(11);
    for i in 0..40 {
        let len = 100 + rng.below(20_000) as usize;
        t.insert(
            format!("data/part-{}/f{i:03}.bin", i % 4),
            random_bytes(&format!("small-{i}"), len),
        );
    }
    t.insert("data/a.txt".into(), b"version one\n".to_vec());
    t.insert("data/b.csv".into(), csv_text(3, 400_000));
    let mut model = random_bytes("model", 6 << 20);
    if version == 2 {
        t.insert("data/a.txt".into(), b"version two\n".to_vec());
        t.remove("data/b.csv");
        t.insert("data/d.txt".into(), b"new in v2\n".to_vec());
        model[2 << 20..3 << 20].copy_from_slice(&random_bytes("edit", 1 << 20));
    }
    t.insert("model.bin".into(), model);
    t
}

pub fn data_and_model(repo: &TestRepo) -> Tree {
    let mut t = files_under(repo, "data");
    if repo.exists("model.bin") {
        t.insert("model.bin".into(), repo.read("model.bin"));
    }
    t
}

/// A `git clone` of `url` at `src.base()/name`, beside `src`'s work tree,
/// so folder remotes given relative to the repository root (`../store`)
/// name the same folder; with `src`'s home and environment but a cache of
/// its own. It lives as long as `src`'s temporary directory.
pub fn clone_beside(src: &TestRepo, url: &Path, name: &str) -> TestRepo {
    let root = src.base().join(name);
    src.git(&["clone", "-q", url.to_str().unwrap(), root.to_str().unwrap()]);
    TestRepo {
        tmp: tempfile::tempdir().expect("create temp dir"),
        root,
        home: src.home.clone(),
        env: src.env.clone(),
        remote_dirs: src.remote_dirs.clone(),
    }
}

/// [`clone_beside`], but `git clone --depth 1` (through `file://`, as CI
/// does): a shallow clone that holds only the newest commit.
pub fn shallow_clone_beside(src: &TestRepo, name: &str) -> TestRepo {
    let root = src.base().join(name);
    let url = format!("file://{}", src.root.display());
    src.git(&["clone", "-q", "--depth", "1", &url, root.to_str().unwrap()]);
    TestRepo {
        tmp: tempfile::tempdir().expect("create temp dir"),
        root,
        home: src.home.clone(),
        env: src.env.clone(),
        remote_dirs: src.remote_dirs.clone(),
    }
}

/// The footer entries of every pack under `dir`, with the pack's path.
pub fn pack_entries(dir: &Path) -> Vec<(std::path::PathBuf, cairn::format::pack::Entry)> {
    let mut out = Vec::new();
    for pack in walkdir::WalkDir::new(dir)
        .into_iter()
        .flatten()
        .filter(|e| e.path().extension().is_some_and(|x| x == "pack"))
    {
        let bytes = std::fs::read(pack.path()).unwrap();
        let found = cairn::format::pack::read_footer(pack.path(), bytes.len() as u64, |at, n| {
            Ok(bytes[at as usize..at as usize + n].to_vec())
        })
        .unwrap();
        out.extend(found.into_iter().map(|e| (pack.path().to_path_buf(), e)));
    }
    out
}

/// Flip a byte in the middle of every chunk under `dir` (a folder of
/// packs) for which `pick` says so; how many were damaged.
pub fn damage_chunks(dir: &Path, pick: impl Fn(&cairn::hash::Id) -> bool) -> usize {
    let mut flipped = 0;
    for (pack, e) in pack_entries(dir) {
        if e.kind == cairn::format::kind::ObjectKind::Chunk && pick(&e.id) {
            let mut bytes = std::fs::read(&pack).unwrap();
            bytes[e.offset as usize + e.stored_len as usize / 2] ^= 0x5a;
            std::fs::write(&pack, bytes).unwrap();
            flipped += 1;
        }
    }
    flipped
}

/// Pages of the file at `path` in the page cache, and its length in
/// pages, by `mincore` over a map of it; `None` where that cannot be asked
/// (or on tmpfs, whose pages are the file itself and are never dropped).
#[cfg(target_os = "linux")]
pub fn resident_pages(path: &Path) -> Option<(usize, usize)> {
    use std::os::fd::AsRawFd;
    let f = std::fs::File::open(path).ok()?;
    let len = f.metadata().ok()?.len() as usize;
    if len == 0 {
        return Some((0, 0));
    }
    // SAFETY: fstatfs on a valid descriptor into a zeroed struct; a
    // read-only shared map of a file the test owns, unmapped below;
    // mincore writes one byte per page into a vector of that length.
    unsafe {
        let mut fs: libc::statfs = std::mem::zeroed();
        if libc::fstatfs(f.as_raw_fd(), &mut fs) != 0 || fs.f_type == libc::TMPFS_MAGIC {
            return None;
        }
        let page = libc::sysconf(libc::_SC_PAGESIZE) as usize;
        let map = libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ,
            libc::MAP_SHARED,
            f.as_raw_fd(),
            0,
        );
        if map == libc::MAP_FAILED {
            return None;
        }
        let mut vec = vec![0u8; len.div_ceil(page)];
        let rc = libc::mincore(map, len, vec.as_mut_ptr());
        libc::munmap(map, len);
        (rc == 0).then(|| (vec.iter().filter(|&&b| b & 1 == 1).count(), vec.len()))
    }
}
