//! Unit tests of the DVC and Git LFS decoders: real files as the tools
//! write them, and hostile inputs.

use super::*;
use proptest::prelude::*;

const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";

#[test]
fn reads_a_dvc3_file_and_a_directory_output() {
    let file = format!("outs:\n- md5: {MD5}\n  size: 0\n  hash: md5\n  path: data.csv\n");
    let outs = parse_dvc_file(file.as_bytes()).unwrap();
    assert_eq!(
        outs,
        vec![DvcOut {
            path: "data.csv".into(),
            md5: MD5.into(),
            dir: false,
            size: Some(0),
            nfiles: None
        }]
    );
    assert_eq!(
        outs[0].object_path(),
        "files/md5/d4/1d8cd98f00b204e9800998ecf8427e"
    );
    let dir =
        format!("outs:\n- md5: {MD5}.dir\n  size: 12\n  nfiles: 3\n  hash: md5\n  path: images\n");
    let o = &parse_dvc_file(dir.as_bytes()).unwrap()[0];
    assert!(o.dir);
    assert_eq!(o.key(), format!("{MD5}.dir"));
    assert!(o.object_path().ends_with(".dir"));
    assert_eq!(o.nfiles, Some(3));
}

#[test]
fn refuses_other_hashes_and_bad_fields() {
    let dvc2 = format!("outs:\n- md5: {MD5}\n  size: 0\n  path: a\n");
    assert!(matches!(
        parse_dvc_file(dvc2.as_bytes()),
        Err(ForeignError::UnsupportedHash { .. })
    ));
    let sha = format!("outs:\n- md5: {MD5}\n  hash: sha256\n  path: a\n");
    assert_eq!(
        parse_dvc_file(sha.as_bytes()),
        Err(ForeignError::UnsupportedHash {
            found: "sha256".into()
        })
    );
    for bad in [
        "outs:\n- md5: XYZ\n  hash: md5\n  path: a\n".to_string(),
        format!("outs:\n- md5: {MD5}\n  hash: md5\n  path: ../etc/passwd\n"),
        format!("outs:\n- md5: {MD5}\n  hash: md5\n  path: /abs\n"),
        format!("outs:\n- md5: {MD5}\n  hash: md5\n"),
        "outs: [".to_string(),
        "outs: 3\n".to_string(),
        "- just a list\n".to_string(),
    ] {
        assert!(parse_dvc_file(bad.as_bytes()).is_err(), "{bad}");
    }
    assert_eq!(
        parse_dvc_file(&vec![b' '; MAX_DVC_FILE + 1]),
        Err(ForeignError::TooLarge {
            limit: MAX_DVC_FILE
        })
    );
}

#[test]
fn a_yaml_alias_bomb_is_refused_not_expanded() {
    let mut y = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 0..12 {
        let prev = if i == 0 {
            "a".to_string()
        } else {
            format!("b{}", i - 1)
        };
        y.push_str(&format!(
            "b{i}: &b{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
        ));
    }
    y.push_str("outs: *b11\n");
    assert!(parse_dvc_file(y.as_bytes()).is_err());
}

#[test]
fn outputs_dvc_does_not_cache_are_not_data_to_import() {
    let file = format!(
        "outs:\n- md5: {MD5}\n  hash: md5\n  path: metrics.json\n  cache: false\n- md5: {MD5}\n  hash: md5\n  path: data\n"
    );
    let outs = parse_dvc_file(file.as_bytes()).unwrap();
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].path, "data");
}

#[test]
fn reads_dvc_lock_outputs() {
    let lock = format!(
        "schema: '2.0'\nstages:\n  train:\n    cmd: python train.py\n    deps:\n    - path: data.csv\n      hash: md5\n      md5: {MD5}\n      size: 0\n    outs:\n    - path: model.pkl\n      hash: md5\n      md5: {MD5}\n      size: 0\n"
    );
    let outs = parse_dvc_lock(lock.as_bytes()).unwrap();
    assert_eq!(outs.len(), 1);
    assert_eq!(outs[0].0, "train");
    assert_eq!(outs[0].1.path, "model.pkl");
    assert!(parse_dvc_lock(b"stages: 7\n").is_err());
    assert_eq!(parse_dvc_lock(b"schema: '2.0'\n").unwrap(), vec![]);
}

#[test]
fn reads_dir_listings_sorted_and_refuses_duplicates_and_escapes() {
    let json = format!(
        r#"[{{"md5": "{MD5}", "relpath": "b/c.txt"}}, {{"md5": "{MD5}", "relpath": "a.txt", "size": 3}}]"#
    );
    let l = parse_dir_listing(json.as_bytes()).unwrap();
    assert_eq!(l[0].relpath, "a.txt");
    assert_eq!(l[1].relpath, "b/c.txt");
    let dup =
        format!(r#"[{{"md5": "{MD5}", "relpath": "a"}}, {{"md5": "{MD5}", "relpath": "a"}}]"#);
    assert!(parse_dir_listing(dup.as_bytes()).is_err());
    let up = format!(r#"[{{"md5": "{MD5}", "relpath": "../x"}}]"#);
    assert!(parse_dir_listing(up.as_bytes()).is_err());
    assert!(parse_dir_listing(b"{}").is_err());
    assert!(parse_dir_listing(b"[{\"md5\": \"00\", \"relpath\": \"a\"}]").is_err());
}

#[test]
fn reads_the_dvc_config_as_dvc_writes_it() {
    let mut c = DvcConfig::default();
    c.merge(b"[core]\n    remote = storage\n['remote \"storage\"']\n    url = /tmp/dvc-store\n['remote \"s3\"']\n    url = s3://bucket/path\n")
        .unwrap();
    assert_eq!(c.url(None), Some("/tmp/dvc-store"));
    assert_eq!(c.url(Some("s3")), Some("s3://bucket/path"));
    c.merge(b"['remote \"storage\"']\n    url = ../elsewhere\n")
        .unwrap();
    assert_eq!(c.url(None), Some("../elsewhere"));
    assert_eq!(c.url(Some("nope")), None);
    assert!(c.merge(&[0xff, 0xfe]).is_err());
}

#[test]
fn lfs_pointers_round_trip_and_are_strict() {
    let p = LfsPointer {
        oid: "ab".repeat(32),
        size: 12345,
    };
    let text = p.encode();
    assert!(looks_like_lfs_pointer(text.as_bytes()));
    assert_eq!(parse_lfs_pointer(text.as_bytes()).unwrap(), p);
    assert_eq!(p.object_path(), format!("ab/ab/{}", "ab".repeat(32)));
    let cases = [
        text.replace("size 12345", "size 012345"),
        text.replace("sha256:", "sha1:"),
        text.replace("oid", "ext-0-foo sha256:00\noid"),
        text.trim_end().to_string(),
        text.replace("spec/v1", "spec/v2"),
        format!("{LFS_VERSION}\nsize 1\noid sha256:{}\n", "ab".repeat(32)),
        format!("{LFS_VERSION}\n"),
        String::new(),
    ];
    for c in cases {
        assert!(parse_lfs_pointer(c.as_bytes()).is_err(), "{c:?}");
    }
}

#[test]
fn finds_the_lfs_lines_of_gitattributes() {
    let text = "# comment\n*.bin filter=lfs diff=lfs merge=lfs -text\n*.txt text\n[attr]x\ndata/** filter=lfs\n";
    assert_eq!(
        lfs_attribute_lines(text),
        vec![(2, "*.bin".to_string()), (5, "data/**".to_string())]
    );
}

proptest! {
    #[test]
    fn decoders_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        let _ = parse_dvc_file(&bytes);
        let _ = parse_dvc_lock(&bytes);
        let _ = parse_dir_listing(&bytes);
        let _ = DvcConfig::default().merge(&bytes);
        let _ = parse_lfs_pointer(&bytes);
        let _ = lfs_attribute_lines(&String::from_utf8_lossy(&bytes));
    }
}
