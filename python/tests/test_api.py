"""cairn.read, ls, get and the Repo methods, with the CLI's --json reports."""

from pathlib import Path

import pytest

import cairn

from conftest import add_s3_remote, commit, git, new_repo, write


def test_ls_lists_each_revision(versions):
    repo = str(versions.path)
    v1 = cairn.ls(rev="v1", repo=repo)
    assert v1["schema"] == 1 and v1["rev"] == "v1"
    by_path = {r["path"]: r for r in v1["paths"]}
    assert by_path["model.bin"]["size"] == len(versions.model["v1"])
    assert by_path["data"]["kind"] == "dir"
    inside = cairn.ls("data", rev="v2", repo=repo, recursive=True)
    sizes = {r["path"]: r["size"] for r in inside["paths"]}
    assert sizes["data/train.csv"] == len(versions.csv["v2"])
    # Another repository by URL, without a clone.
    remote = cairn.ls(rev="v1", repo="file://" + repo)
    assert {r["path"] for r in remote["paths"]} == {"model.bin", "data"}


def test_get_fetches_a_path_of_another_repository(pushed, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    report = cairn.get(str(pushed.path), "data/train.csv", rev="v1", out="got.csv")
    assert report["schema"] == 1 and report["size"] == len(pushed.csv["v1"])
    assert (tmp_path / "got.csv").read_text() == pushed.csv["v1"]
    cairn.get("file://" + str(pushed.path), "model.bin", rev="main")
    assert (tmp_path / "model.bin").read_bytes() == pushed.model["v2"]
    # OUT is never overwritten.
    with pytest.raises(cairn.CairnError) as e:
        cairn.get(str(pushed.path), "model.bin", rev="main")
    assert e.value.kind == "output_exists"


def test_repo_status_add_push_pull(tmp_path, bucket):
    a = tmp_path / "a"
    repo = new_repo(a)
    add_s3_remote(a, bucket)
    write(a, "data/x.bin", b"x" * 100_000)
    added = repo.add("data")
    assert added["schema"] == 1
    assert [p["path"] for p in added["paths"]] == ["data"]
    commit(a, "data", tag="v1")
    assert all(p["state"] == "clean" for p in repo.status()["paths"])
    pushed = repo.push()
    assert pushed["remote"] == "origin" and pushed["objects"] > 0
    assert repo.root == str(a)
    # A fresh clone pulls the data back.
    b = tmp_path / "b"
    git(tmp_path, "clone", "-q", str(a), str(b))
    clone = cairn.Repo(b)
    before = clone.status("data")["paths"][0]
    assert before["state"] == "missing"
    pulled = clone.pull()
    assert pulled["checkout"]["files_written"] == 1
    assert (Path(b) / "data/x.bin").read_bytes() == b"x" * 100_000
    assert clone.status()["paths"][0]["state"] == "clean"
    # A modified file shows as such.
    write(b, "data/x.bin", b"y")
    assert clone.status(["data"])["paths"][0]["state"] == "modified"
