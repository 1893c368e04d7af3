//! Fixed vectors that freeze format v1 (and v2's layered listings). If one of these fails, a change has
//! altered ids or layouts that existing repositories depend on: that needs a
//! new format version (docs/FORMAT.md, "Versioning"), not a new vector.

use cairn::format::chunking::{gear_table, Chunker};
use cairn::format::codec::Codec;
use cairn::format::kind::ObjectKind;
use cairn::format::object;
use cairn::format::pack::{encode_footer, pack_id, Entry};
use cairn::hash::Id;

fn stream(seed: &str, len: usize) -> Vec<u8> {
    let mut out = vec![0u8; len];
    blake3::Hasher::new()
        .update(seed.as_bytes())
        .finalize_xof()
        .fill(&mut out);
    out
}

fn digest(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[test]
fn gear_table_v1() {
    let t = gear_table();
    let bytes: Vec<u8> = t.iter().flat_map(|w| w.to_le_bytes()).collect();
    assert_eq!(format!("{:016x} {:016x}", t[0], t[255]), GEAR_ENDS);
    assert_eq!(digest(&bytes), GEAR_DIGEST);
}

#[test]
fn chunk_boundaries_v1() {
    let data = stream("cairn chunk vector", 2 << 20);
    let cuts: Vec<usize> = Chunker::default()
        .chunks(&data)
        .map(|(o, l)| o + l)
        .collect();
    assert_eq!(format!("{cuts:?}"), CUTS);
}

#[test]
fn object_encodings_v1() {
    // The same values as the byte-exact files in fixtures/format/.
    use crate::fixtures::{piece, sample_manifest, sample_tree};
    assert_eq!(digest(&sample_manifest().encode()), MANIFEST_DIGEST);
    assert_eq!(
        digest(&object::encode_segment(&[piece("a", 10), piece("b", 20)])),
        SEGMENT_DIGEST
    );
    let tree = object::encode_tree(&sample_tree());
    assert_eq!(Id::of(&tree).to_hex(), TREE_ID);
}

#[test]
fn pack_footer_v1() {
    let entries = [
        Entry {
            id: Id::of(b"abc"),
            kind: ObjectKind::Chunk,
            codec: Codec::Raw,
            offset: 16,
            stored_len: 3,
            raw_len: 3,
        },
        Entry {
            id: Id::of(b"t"),
            kind: ObjectKind::Tree,
            codec: Codec::Zstd,
            offset: 19,
            stored_len: 9,
            raw_len: 40,
        },
    ];
    assert_eq!(digest(&encode_footer(&entries, 28)), FOOTER_DIGEST);
    assert_eq!(pack_id(&entries).to_hex(), PACK_ID);
}

#[test]
fn locator_v1() {
    let l = crate::fixtures::sample_locator();
    let bytes = l.encode();
    assert_eq!(bytes.len(), LOCATOR_LEN);
    assert_eq!(digest(&bytes), LOCATOR_DIGEST);
}

const LOCATOR_LEN: usize = 232;
const LOCATOR_DIGEST: &str = "1d801df0aa5511e769db112ae507dcfa078b2f09c6fb44f1de65ba3b9d0fb84d";

#[test]
fn import_map_v1() {
    let text = crate::fixtures::sample_import_map().encode();
    assert_eq!(text.len(), IMPORT_MAP_LEN);
    assert_eq!(digest(text.as_bytes()), IMPORT_MAP_DIGEST);
}

const IMPORT_MAP_LEN: usize = 387;
const IMPORT_MAP_DIGEST: &str = "dc42b14cbb5d7a9eb4e9e93ff085c1be7a4957bddb316b9573adaec394321c87";
const GEAR_ENDS: &str = "e55eafb71843abb6 71c1751988a618fa";
const GEAR_DIGEST: &str = "a0c037f216e8da806205b67d4cf628c96ba6eaeecb47e5aab6c7ee9e7157615c";
const CUTS: &str = "[80861, 161169, 244495, 266408, 353041, 390295, 472538, 543725, 621667, 705501, 812122, 859796, 945312, 1013020, 1082175, 1135590, 1202465, 1276907, 1345407, 1425564, 1500359, 1600623, 1672628, 1709264, 1777820, 1861308, 1934972, 2032948, 2097152]";
const MANIFEST_DIGEST: &str = "285955389a8c3938bf5576ba88635b82e163f134c31040ca56d0b6dca0f6ded5";
const SEGMENT_DIGEST: &str = "5bdb792aceb5b3551052dc389f1d85f172cead0b2ae80487e438bd1942ffa6bc";
const TREE_ID: &str = "c95e03c9390f9533765ae3027ac3b17b487ae9f72f63752881360eb1daeb6498";
const FOOTER_DIGEST: &str = "948706220b5c58862becbc1d67b1a81f89cc8bed3b45131155295acd8a2a45f6";
const PACK_ID: &str = "1a3a0052c62e9fd07b9a5d2d6f55c74542123730fbb72af169040959f7393a3a";

/// The v2 listing vector of docs/FORMAT.md Appendix A: entries `v/00000`
/// to `v/04999`, mode 0o100644, size i, id `BLAKE3(decimal i)`.
fn v2_entries(n: usize) -> Vec<object::TreeEntry> {
    (0..n)
        .map(|i| object::TreeEntry {
            path: format!("v/{i:05}"),
            mode: object::Mode::Regular,
            size: i as u64,
            id: Id::of(i.to_string().as_bytes()),
        })
        .collect()
}

#[test]
fn listing_cuts_v2() {
    use cairn::format::listing;
    let ends: Vec<usize> = (0..5000)
        .filter(|i| listing::is_cut(0, &format!("v/{i:05}")))
        .take(5)
        .collect();
    assert_eq!(format!("{ends:?}"), V2_LEAF_CUTS);
    let built = listing::build(&v2_entries(5000));
    let leaves: Vec<usize> = built
        .nodes
        .iter()
        .filter_map(|(_, b)| object::decode_tree(b).ok().map(|e| e.len()))
        .collect();
    assert_eq!(format!("{leaves:?}"), V2_LEAVES);
    assert_eq!(built.root.to_hex(), V2_ROOT);
    assert_eq!(built.nodes.len(), leaves.len() + 1, "one level-1 root");
    // The sample node of fixtures/format/node.bin.
    let node = listing::encode_inner(&crate::fixtures::sample_node());
    assert_eq!(
        (node.len(), Id::of(&node).to_hex()),
        (V2_NODE_LEN, V2_NODE_ID.into())
    );
    // Up to 1,024 entries: one v1 tree, the v1 id.
    let small = v2_entries(1024);
    assert_eq!(
        listing::root_id(&small),
        Id::of(&object::encode_tree(&small))
    );
    assert_eq!(listing::root_id(&small).to_hex(), V2_FLAT_1024);
}

const V2_LEAF_CUTS: &str = "[2985, 2992, 3432]";
const V2_LEAVES: &str = "[2986, 7, 440, 1567]";
const V2_ROOT: &str = "622ce0972c625e93d1a008b239ec315cb1f547e9885815c1abaff9c8c650ffd4";
const V2_NODE_LEN: usize = 144;
const V2_NODE_ID: &str = "5d9aa10d7e03ab391a8e3cb63095263a6f0e876f7cfa544adb48f4f8b09ba30b";
const V2_FLAT_1024: &str = "4dfbfac8f9d2fd19fca2eac0fa89586b6bc7e1ffb0de141b19174e282e08c534";
