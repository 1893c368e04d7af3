"""Failures raise CairnError subclasses with the hint; damaged data never
comes back as bytes."""

from pathlib import Path

import pytest

import cairn

from conftest import git


def test_unknown_revision(versions):
    with pytest.raises(cairn.RevisionError) as e:
        cairn.open("model.bin", rev="nosuch", repo=str(versions.path))
    assert e.value.kind == "git_unknown_revision"
    assert "unknown revision 'nosuch'" in str(e.value)
    assert "hint:" in str(e.value) and e.value.hint


def test_untracked_path(versions):
    for path in ("nosuch.bin", "data", "data/nosuch.csv"):
        with pytest.raises(cairn.NotTrackedError) as e:
            cairn.read(path, rev="v1", repo=str(versions.path))
        assert isinstance(e.value, FileNotFoundError)
        assert "not a file cairn tracks" in str(e.value)
        assert e.value.hint


def test_missing_remote(versions, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(versions.path), str(clone))
    with pytest.raises(cairn.RemoteError) as e:
        cairn.read("model.bin", rev="v1", repo=str(clone))
    assert e.value.kind == "no_remote"
    assert "hint:" in str(e.value)
    with pytest.raises(cairn.RemoteError):
        cairn.read("model.bin", rev="v1", repo=str(clone), remote="nosuchremote")


def test_not_a_repository(tmp_path):
    with pytest.raises(cairn.CairnError):
        cairn.Repo(tmp_path)
    with pytest.raises(cairn.CairnError) as e:
        cairn.open("x.bin", repo=str(tmp_path))
    assert e.value.kind in ("not_git_repo", "not_initialized", "git_not_a_repo"), e.value


def damage_packs(packs):
    n = 0
    for pack in Path(packs).rglob("*.pack"):
        b = bytearray(pack.read_bytes())
        for at in range(len(b) // 4, len(b) - 4096, max(1, len(b) // 8)):
            b[at] ^= 0x55
        pack.write_bytes(bytes(b))
        n += 1
    assert n > 0


def test_damaged_data_in_the_cache_raises(versions):
    damage_packs(Path(versions.path) / ".git" / "cairn" / "cache" / "packs")
    with pytest.raises(cairn.CairnError) as e:
        cairn.read("model.bin", rev="v1", repo=str(versions.path))
    assert e.value.kind in ("corrupt_object", "corrupt_pack", "missing_object"), e.value
    with cairn.open("model.bin", rev="v2", repo=str(versions.path)) as f:
        with pytest.raises(cairn.DataError):
            while f.read(1 << 20):
                pass


def test_damaged_data_on_the_remote_raises(versions, bucket, s3_endpoint, tmp_path):
    import urllib.request

    from conftest import add_s3_remote

    # Push to a folder, damage its packs, and serve that folder's objects
    # from S3 (the layout is the same; the server answers no unsigned GET,
    # so the packs cannot be damaged in place).
    add_s3_remote(versions.path, bucket)
    folder = tmp_path / "folder-remote"
    versions.repo.push(remote=str(folder))
    damage_packs(folder / "packs")
    for f in folder.rglob("*"):
        if f.is_file():
            key = f.relative_to(folder).as_posix()
            # urllib would call the body a form, which the server parses.
            req = urllib.request.Request(f"{s3_endpoint}/{bucket}/p/{key}",
                                         data=f.read_bytes(), method="PUT",
                                         headers={"Content-Type": "application/octet-stream"})
            urllib.request.urlopen(req).read()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(versions.path), str(clone))
    got = b""
    with pytest.raises(cairn.DataError) as e:
        with cairn.open("model.bin", repo=str(clone)) as f:
            while True:
                b = f.read(1 << 16)
                if not b:
                    break
                got += b
    assert "damaged" in str(e.value)
    assert versions.model["v2"].startswith(got), "only verified bytes came back"
    assert len(got) < len(versions.model["v2"])
