#!/usr/bin/env bash
# The Python reader (cairn.open) on the 2 GiB reference file pushed to a
# local S3 server (moto), in fresh clones with empty caches:
#   - time to first byte (cairn.open + read(1), metadata fetch included);
#   - sequential read throughput through cairn.open (8 MiB reads), with the
#     process's peak RSS, next to `cairn pull` of the same file;
#   - random 1 MiB reads per second.
#
#   bench/python-read.sh              # ~5 min (most of it the 2 GiB push)
#
# Environment (all optional):
#   DATA=/tmp/bench/data      datasets (../shared/bench/gen.py --only big, made if missing)
#   WORK=/tmp/bench/pyread    scratch repository and clones (wiped)
#   VENV=/tmp/bench/py-venv   venv the package is pip-installed into (release build)
#   CAIRN_BIN=                the cairn binary (default: cargo build --release)
#   S3_PORT=5091              moto's port
#   RANDOM_READS=200          1 MiB reads at random offsets
#
# S3 here is moto on the same two cores, so absolute figures are a floor,
# not a cloud's; compare cairn.open with `cairn pull` of the same run.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
DATA=${DATA:-/tmp/bench/data}
WORK=${WORK:-/tmp/bench/pyread}
VENV=${VENV:-/tmp/bench/py-venv}
S3_PORT=${S3_PORT:-5091}
RANDOM_READS=${RANDOM_READS:-200}
BIG=$DATA/big/big.bin

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

if [[ ! -f $BIG ]]; then
  say "making the 2 GiB reference file"
  python3 "$REPO/../shared/bench/gen.py" "$DATA" --only big
fi
if [[ -z ${CAIRN_BIN:-} ]]; then
  say "cargo build --release"
  (cd "$REPO" && cargo build --release --locked -q)
  CAIRN_BIN=${CARGO_TARGET_DIR:-$REPO/target}/release/cairn
fi
if [[ ! -x $VENV/bin/python ]] || ! "$VENV/bin/python" -c 'import cairn' 2>/dev/null; then
  say "pip install ./python into $VENV (a release build)"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$REPO/python"
fi
cairn() { "$CAIRN_BIN" "$@"; }

rm -rf "$WORK" && mkdir -p "$WORK"
trap '"$REPO/scripts/s3-server.sh" stop "$S3_PORT" >/dev/null 2>&1 || true' EXIT
eval "$("$REPO/scripts/s3-server.sh" start "$S3_PORT")"
curl -fsS -X PUT "$AWS_ENDPOINT/pyread" >/dev/null

say "origin: add and push the 2 GiB file"
src=$WORK/origin
mkdir -p "$src" && cd "$src"
git init -q && git config user.email b@example.com && git config user.name Bench
cairn init -q
cairn remote add -q origin s3://pyread/p
ln "$BIG" big.bin 2>/dev/null || cp "$BIG" big.bin
cairn add -q big.bin && git add -A && git commit -qm big && git tag v1
t0=$(date +%s.%N); cairn push -q; t1=$(date +%s.%N)
say "push: $(echo "$t1 - $t0" | bc) s"

clone() { rm -rf "$WORK/$1"; git clone -q "$src" "$WORK/$1"; echo "$WORK/$1"; }

py() { "$VENV/bin/python" - "$@"; }

say "time to first byte"
ttfb=$(py "$(clone c-ttfb)" <<'PY'
import sys, time, cairn
t = time.perf_counter()
with cairn.open("big.bin", rev="v1", repo=sys.argv[1]) as f:
    assert len(f.read(1)) == 1
print(f"{time.perf_counter() - t:.3f}")
PY
)

say "sequential read through cairn.open"
seq_out=$(/usr/bin/time -v "$VENV/bin/python" - "$(clone c-seq)" 2>"$WORK/seq.time" <<'PY'
import sys, time, cairn
t = time.perf_counter()
n = 0
with cairn.open("big.bin", rev="v1", repo=sys.argv[1]) as f:
    while True:
        b = f.read(8 << 20)
        if not b:
            break
        n += len(b)
dt = time.perf_counter() - t
print(f"{n} {dt:.2f}")
PY
)
read -r seq_bytes seq_s <<<"$seq_out"
seq_rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/seq.time")

say "cairn pull of the same file"
c=$(clone c-pull)
t0=$(date +%s.%N); (cd "$c" && cairn pull -q); t1=$(date +%s.%N)
pull_s=$(echo "$t1 - $t0" | bc)

say "random 1 MiB reads"
rand=$(py "$(clone c-rand)" "$RANDOM_READS" <<'PY'
import random, sys, time, cairn
reads = int(sys.argv[2])
rng = random.Random(1)
with cairn.open("big.bin", rev="v1", repo=sys.argv[1]) as f:
    f.read(1)  # metadata fetched; time the reads alone
    size = f.size
    t = time.perf_counter()
    for _ in range(reads):
        f.seek(rng.randrange(0, size - (1 << 20)))
        assert len(f.read(1 << 20)) == 1 << 20
    dt = time.perf_counter() - t
    fetched = f.report()["fetch"]["bytes"]
print(f"{reads / dt:.1f} {fetched}")
PY
)
read -r rand_per_s rand_bytes <<<"$rand"

mb() { echo "scale=1; $1 / 1000000" | bc; }
cat <<EOF2

| measure (2 GiB file on local S3, fresh clone) | value |
|---|---|
| time to first byte, cairn.open + read(1) | ${ttfb} s |
| sequential read, cairn.open, 8 MiB reads | $(mb "$(echo "$seq_bytes / $seq_s" | bc)") MB/s (${seq_s} s) |
| peak RSS of that process | $((seq_rss_kb / 1024)) MiB |
| cairn pull of the same file | $(mb "$(echo "$seq_bytes / $pull_s" | bc)") MB/s (${pull_s} s) |
| random 1 MiB reads | ${rand_per_s} reads/s (${RANDOM_READS} reads, $(mb "$rand_bytes") MB fetched) |
EOF2
