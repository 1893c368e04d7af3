"""Fixtures for the cairn Python tests: git repositories made with the
package itself, and the local S3 server (moto) that scripts/test starts
(its address comes in CAIRN_TEST_S3_ENDPOINT, with the AWS_* variables).
"""

import os
import random
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest

import cairn

ROOT = Path(__file__).resolve().parents[2]


def git(cwd, *args):
    """Run git in ``cwd``, failing the test on error; returns stdout."""
    out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, text=True)
    assert out.returncode == 0, f"git {args}: {out.stderr}"
    return out.stdout


def random_bytes(seed, n):
    return random.Random(seed).randbytes(n)


def write(repo, rel, data):
    p = Path(repo) / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data if isinstance(data, bytes) else data.encode())


def commit(repo, msg, tag=None):
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", msg)
    if tag:
        git(repo, "tag", tag)


def new_repo(path):
    path.mkdir(parents=True, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "Test")
    return cairn.Repo.init(path)


class Versions:
    """A repository with two tagged versions of a dataset and a model."""

    def __init__(self, path, bucket=None):
        self.path = path
        self.repo = new_repo(path)
        if bucket:
            # Before v1, so every tag names the remote.
            add_s3_remote(path, bucket)
        self.model = {
            "v1": random_bytes("model-1", 3_000_000),
            "v2": random_bytes("model-2", 2_000_000),
        }
        self.csv = {
            "v1": "id,label\n1,cat\n2,dog\n",
            "v2": "id,label\n1,cat\n2,dog\n3,bird\n",
        }
        for v in ("v1", "v2"):
            write(path, "model.bin", self.model[v])
            write(path, "data/train.csv", self.csv[v])
            write(path, "data/train.parquet", parquet_of(self.csv[v]))
            self.repo.add(["model.bin", "data"])
            commit(path, v, tag=v)


def parquet_of(csv_text):
    import io

    import pandas as pd

    buf = io.BytesIO()
    df = pd.read_csv(io.StringIO(csv_text))
    df.to_parquet(buf, index=False)
    return buf.getvalue()


@pytest.fixture
def versions(tmp_path):
    return Versions(tmp_path / "origin")


@pytest.fixture(scope="session")
def s3_endpoint():
    ep = os.environ.get("CAIRN_TEST_S3_ENDPOINT")
    if not ep:
        pytest.fail(
            "no local S3 server: run the Python tests through scripts/python-test.sh "
            "(scripts/test runs it), which starts moto and sets CAIRN_TEST_S3_ENDPOINT"
        )
    return ep


@pytest.fixture
def bucket(s3_endpoint):
    """A fresh bucket on the local S3 server."""
    name = f"py-{uuid.uuid4().hex[:12]}"
    req = urllib.request.Request(f"{s3_endpoint}/{name}", method="PUT")
    urllib.request.urlopen(req).read()
    return name


def add_s3_remote(path, bucket, prefix="p"):
    """Name the bucket as the default remote in the committed config."""
    cfg = Path(path) / ".cairn" / "config.toml"
    text = cfg.read_text()
    text += f'\n[remote]\ndefault = "origin"\n\n[remote.origin]\nurl = "s3://{bucket}/{prefix}"\n'
    cfg.write_text(text)
    commit(path, "remote")


@pytest.fixture
def pushed(bucket, tmp_path):
    """The two versions, pushed to S3, and a fresh clone (no cache)."""
    versions = Versions(tmp_path / "origin", bucket)
    versions.repo.push()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(versions.path), str(clone))
    versions.clone = clone
    versions.bucket = bucket
    return versions


def cache_bytes(repo):
    """Bytes in a repository's cache packs."""
    packs = Path(repo) / ".git" / "cairn" / "cache" / "packs"
    return sum(p.stat().st_size for p in packs.rglob("*.pack")) if packs.exists() else 0
