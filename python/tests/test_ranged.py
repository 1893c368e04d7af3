"""Random access into a large file on S3 downloads only what is read,
counted at the server: scripts/count-proxy.py sits in front of the local
S3 server and logs the bytes of every response.

The file is 512 MiB of incompressible pseudo-random bytes (numpy's
generator makes it in about a second); adding and pushing it take most of
this test's time (about a minute on two cores with a debug build)."""

import os
import random
import socket
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest

import cairn

from conftest import ROOT, add_s3_remote, commit, git, new_repo

SIZE = 512 << 20
READ = 64 << 10
READS = 100


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def proxy(s3_endpoint, tmp_path):
    """A counting proxy in front of the S3 server: (its URL, its log)."""
    port = free_port()
    log = tmp_path / "proxy.log"
    p = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "count-proxy.py"),
                          str(port), s3_endpoint, str(log)])
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(url + "/").read()
            break
        except urllib.error.HTTPError:
            break
        except OSError:
            if time.time() > deadline:
                p.kill()
                raise
            time.sleep(0.05)
    yield url, log
    p.kill()
    p.wait()


def downloaded(log):
    """Bytes of response bodies to GET requests in the proxy's log."""
    total = 0
    for line in log.read_text().splitlines():
        method, _path, _in, out = line.split()[:4]
        if method == "GET":
            total += int(out)
    return total


def test_100_random_reads_of_a_512_mib_file_download_under_5_percent(
        tmp_path, bucket, proxy, monkeypatch):
    url, log = proxy
    a = tmp_path / "a"
    repo = new_repo(a)
    add_s3_remote(a, bucket)
    data = np.random.default_rng(512).bytes(SIZE)
    (a / "big.bin").write_bytes(data)
    repo.add("big.bin")
    commit(a, "big", tag="v1")
    repo.push()
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(a), str(clone))

    monkeypatch.setenv("AWS_ENDPOINT", url)
    log.write_text("")
    rng = random.Random(100)
    with cairn.open("big.bin", rev="v1", repo=str(clone)) as f:
        assert f.size == SIZE
        for _ in range(READS):
            at = rng.randrange(0, SIZE - READ)
            f.seek(at)
            assert f.read(READ) == data[at:at + READ]
        report = f.report()
    got = downloaded(log)
    gets = sum(1 for line in log.read_text().splitlines() if line.startswith("GET "))
    print(f"{READS} random reads of {READ} bytes: {got} bytes downloaded "
          f"({100 * got / SIZE:.2f}% of the file) in {gets} GET requests")
    assert got > READS * READ, "the reads went through the proxy"
    assert got < SIZE * 5 // 100, f"downloaded {got} bytes of {SIZE} ({report})"
    # What the library counted agrees with the server (within the index
    # files, which it reads from its cache or the server).
    assert report["fetch"]["bytes"] <= got
