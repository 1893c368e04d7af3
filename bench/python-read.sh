#!/usr/bin/env bash
# The Python reader (cairn.open) on the 2 GiB reference file pushed to a
# local S3 server (moto), in fresh clones with empty caches:
#   - time to first byte (cairn.open + read(1), metadata fetch included);
#   - sequential read throughput through cairn.open (8 MiB reads), with the
#     process's peak RSS, next to `cairn pull` of the same file;
#   - random 1 MiB reads per second;
#   - and the same three through DVC's `dvc.api.open` on the same file in a
#     DVC repository pushed to the same server (DVC=0 leaves it out).
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
#   DVC=1                     also time dvc.api.open (dvc and dvc-s3 in DVC_VENV)
#   DVC_VENV=/tmp/bench/venv  the venv with DVC (dvc-s3 is installed if missing)
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
DVC=${DVC:-1}
DVC_VENV=${DVC_VENV:-/tmp/bench/venv}
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

dvc_rows=""
if [[ $DVC == 1 ]]; then
  if ! "$DVC_VENV/bin/python" -c 'import dvc_s3' 2>/dev/null; then
    say "pip install dvc-s3 into $DVC_VENV"
    "$DVC_VENV/bin/pip" install -q --disable-pip-version-check dvc-s3
  fi
  say "DVC: add and push the same file"
  d=$WORK/dvc-origin
  mkdir -p "$d" && cd "$d"
  git init -q && git config user.email b@example.com && git config user.name Bench
  "$DVC_VENV/bin/dvc" init -q
  "$DVC_VENV/bin/dvc" remote add -q -d s3 s3://pyread/dvc
  "$DVC_VENV/bin/dvc" remote modify -q s3 endpointurl "$AWS_ENDPOINT"
  ln "$BIG" big.bin 2>/dev/null || cp "$BIG" big.bin
  "$DVC_VENV/bin/dvc" add -q big.bin
  git add -A && git commit -qm big && git tag v1
  "$DVC_VENV/bin/dvc" push -q
  dclone() { rm -rf "$WORK/$1"; git clone -q "$d" "$WORK/$1"; echo "$WORK/$1"; }
  dpy() { "$DVC_VENV/bin/python" - "$@"; }
  say "DVC: time to first byte"
  d_ttfb=$(dpy "$(dclone d-ttfb)" <<'PY'
import sys, time, dvc.api
t = time.perf_counter()
with dvc.api.open("big.bin", rev="v1", repo=sys.argv[1], mode="rb") as f:
    assert len(f.read(1)) == 1
print(f"{time.perf_counter() - t:.3f}")
PY
)
  say "DVC: sequential read"
  d_seq=$(/usr/bin/time -v "$DVC_VENV/bin/python" - "$(dclone d-seq)" 2>"$WORK/dseq.time" <<'PY'
import sys, time, dvc.api
t = time.perf_counter()
n = 0
with dvc.api.open("big.bin", rev="v1", repo=sys.argv[1], mode="rb") as f:
    while True:
        b = f.read(8 << 20)
        if not b:
            break
        n += len(b)
print(f"{n} {time.perf_counter() - t:.2f}")
PY
)
  read -r d_bytes d_s <<<"$d_seq"
  d_rss_kb=$(awk -F: '/Maximum resident set size/ {gsub(/ /, "", $2); print $2}' "$WORK/dseq.time")
  say "DVC: random 1 MiB reads"
  d_rand=$(dpy "$(dclone d-rand)" "$RANDOM_READS" <<'PY'
import random, sys, time, dvc.api
reads = int(sys.argv[2])
rng = random.Random(1)
with dvc.api.open("big.bin", rev="v1", repo=sys.argv[1], mode="rb") as f:
    try:
        f.read(1)
        size = 2 << 30
        t = time.perf_counter()
        for _ in range(reads):
            f.seek(rng.randrange(0, size - (1 << 20)))
            assert len(f.read(1 << 20)) == 1 << 20
        print(f"{reads / (time.perf_counter() - t):.1f}")
    except Exception as e:
        print(f"n/a ({type(e).__name__}: not seekable)")
PY
)
  dvc_rows="| DVC dvc.api.open: time to first byte | ${d_ttfb} s |
| DVC dvc.api.open: sequential read, 8 MiB reads | $(echo "scale=1; $d_bytes / $d_s / 1000000" | bc) MB/s (${d_s} s) |
| DVC: peak RSS of that process | $((d_rss_kb / 1024)) MiB |
| DVC dvc.api.open: random 1 MiB reads | ${d_rand} reads/s |"
fi

mb() { echo "scale=1; $1 / 1000000" | bc; }
cat <<EOF2

| measure (2 GiB file on local S3, fresh clone) | value |
|---|---|
| time to first byte, cairn.open + read(1) | ${ttfb} s |
| sequential read, cairn.open, 8 MiB reads | $(mb "$(echo "$seq_bytes / $seq_s" | bc)") MB/s (${seq_s} s) |
| peak RSS of that process | $((seq_rss_kb / 1024)) MiB |
| cairn pull of the same file | $(mb "$(echo "$seq_bytes / $pull_s" | bc)") MB/s (${pull_s} s) |
| random 1 MiB reads | ${rand_per_s} reads/s (${RANDOM_READS} reads, $(mb "$rand_bytes") MB fetched) |
${dvc_rows}
EOF2
