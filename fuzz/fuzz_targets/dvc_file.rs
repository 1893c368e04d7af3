//! `.dvc` files and `dvc.lock` are YAML from another tool, read from the
//! work tree and from every imported revision: no panic, bounded time and
//! memory, and every path accepted is a safe relative path.
#![no_main]

use cairn::format::foreign::{parse_dvc_file, parse_dvc_lock};
use cairn::format::object::check_rel_path;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(outs) = parse_dvc_file(data) {
        for o in outs {
            assert!(check_rel_path(&o.path).is_ok(), "{:?}", o.path);
            assert_eq!(o.md5.len(), 32);
        }
    }
    if let Ok(outs) = parse_dvc_lock(data) {
        for (_, o) in outs {
            assert!(check_rel_path(&o.path).is_ok(), "{:?}", o.path);
        }
    }
});
