"""cairn.open / cairn.read: reads, seeks and tell against the local cache
and against S3 in a fresh clone, streaming only what is read."""

import io
import random

import pytest

import cairn

from conftest import cache_bytes, git


def test_open_reads_seeks_and_tells_from_the_local_cache(versions):
    repo = str(versions.path)
    want = versions.model["v1"]
    with cairn.open("model.bin", rev="v1", repo=repo) as f:
        assert isinstance(f, io.RawIOBase)
        assert f.readable() and f.seekable()
        assert f.size == len(want)
        assert f.read(100) == want[:100]
        assert f.tell() == 100
        # Across chunk boundaries, from the end and relative to here.
        assert f.seek(1_000_000) == 1_000_000
        assert f.read(300_000) == want[1_000_000:1_300_000]
        assert f.seek(-10, io.SEEK_END) == len(want) - 10
        assert f.read() == want[-10:]
        assert f.read(5) == b""
        f.seek(-20, io.SEEK_CUR)
        assert f.tell() == len(want) - 20
        buf = bytearray(8)
        assert f.readinto(buf) == 8
        assert bytes(buf) == want[-20:-12]
        # Past the end reads nothing; before the start is an error.
        f.seek(len(want) + 1000)
        assert f.read(10) == b""
        with pytest.raises((OSError, ValueError)):
            f.seek(-1)
    assert f.closed
    with pytest.raises(ValueError):
        f.read(1)
    # The work tree's version without a revision; v2 with one.
    assert cairn.read("model.bin", repo=repo) == versions.model["v2"]
    assert cairn.read("model.bin", rev="v2", repo=repo) == versions.model["v2"]
    # A file inside a tracked directory, line by line.
    assert cairn.read("data/train.csv", rev="v1", repo=repo).decode() == versions.csv["v1"]
    with cairn.open("data/train.csv", rev="v2", repo=repo) as f:
        lines = [line.decode() for line in f]
        assert "".join(lines) == versions.csv["v2"] and len(lines) == 4
        f.seek(3)
        assert f.readline() == b"label\n" and f.readline(2) == b"1,"
    # Buffered and text wrappers work over it.
    with io.TextIOWrapper(io.BufferedReader(cairn.open("data/train.csv", rev="v1", repo=repo))) as t:
        assert t.read() == versions.csv["v1"]


def test_random_reads_match_the_bytes(versions):
    want = versions.model["v1"]
    rng = random.Random(7)
    with cairn.open("model.bin", rev="v1", repo=str(versions.path)) as f:
        for _ in range(200):
            at = rng.randrange(0, len(want) + 10)
            n = rng.randrange(0, 200_000)
            f.seek(at)
            assert f.read(n) == want[at:at + n]
            assert f.tell() == min(at + n, len(want)) if at <= len(want) else at


def test_open_streams_from_s3_in_a_fresh_clone_without_filling_the_cache(pushed):
    clone = str(pushed.clone)
    want = pushed.model["v1"]
    with cairn.open("model.bin", rev="v1", repo=clone) as f:
        f.seek(2_000_000)
        assert f.read(1000) == want[2_000_000:2_001_000]
        assert f.tell() == 2_001_000
        part = f.report()
        assert part["fetch"]["remote"] == "origin"
        # One chunk or two, not the 3 MB file.
        assert 0 < part["fetch"]["bytes"] < 1_000_000, part
        f.seek(0)
        assert f.read() == want
        assert f.tell() == len(want)
    # Chunks were read by range, not stored: only metadata is cached.
    assert cache_bytes(clone) < 100_000
    assert cairn.read("model.bin", rev="v2", repo=clone) == pushed.model["v2"]
    assert cairn.read("data/train.csv", rev="v1", repo=clone).decode() == pushed.csv["v1"]
    # The work tree's pointers of the clone (HEAD = v2 plus the remote).
    assert cairn.read("model.bin", repo=clone) == pushed.model["v2"]


def test_open_of_a_git_url_needs_no_clone(pushed, tmp_path):
    url = "file://" + str(pushed.path)
    assert cairn.read("model.bin", rev="v1", repo=url) == pushed.model["v1"]
    with cairn.open("data/train.csv", rev="v2", repo=url) as f:
        assert f.read().decode() == pushed.csv["v2"]
    # A bare repository's path is read the same way.
    bare = tmp_path / "bare.git"
    git(tmp_path, "clone", "-q", "--bare", str(pushed.path), str(bare))
    assert cairn.read("model.bin", rev="v2", repo=str(bare)) == pushed.model["v2"]
    assert {r["path"] for r in cairn.ls(rev="v1", repo=str(bare))["paths"]} == {
        "model.bin", "data"}


def test_readers_in_threads_read_concurrently(versions):
    import concurrent.futures

    want = versions.model["v2"]
    repo = str(versions.path)

    def part(k):
        with cairn.open("model.bin", repo=repo) as f:
            f.seek(k * 100_000)
            return k, f.read(150_000)

    with concurrent.futures.ThreadPoolExecutor(4) as ex:
        for k, got in ex.map(part, range(12)):
            assert got == want[k * 100_000:k * 100_000 + 150_000]


def test_readers_opened_at_once_in_a_fresh_clone_take_turns_fetching_metadata(pushed):
    import concurrent.futures

    want = pushed.model["v1"]
    clone = str(pushed.clone)

    def part(k):
        # Each open fetches the manifest into the empty cache under its
        # lock; the others wait for it instead of failing.
        with cairn.open("model.bin", rev="v1", repo=clone) as f:
            f.seek(k * 200_000)
            return k, f.read(100_000)

    with concurrent.futures.ThreadPoolExecutor(6) as ex:
        for k, got in ex.map(part, range(12)):
            assert got == want[k * 200_000:k * 200_000 + 100_000]
