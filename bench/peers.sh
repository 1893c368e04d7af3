#!/usr/bin/env bash
# Time whole cairn commands next to DVC (and the raw-hardware anchors) on the
# shared reference datasets, in one invocation so that the ratios hold even
# on a noisy machine. Wraps ../shared/bench/peers.sh; see its README.
#
#   bench/peers.sh                    # anchors, cairn, DVC; one run
#   RUNS="1 2" bench/peers.sh ours dvc lfs
#
# Needs: python3, git, GNU time, and (for the peers) the tools listed in
# ../shared/bench/README.md. Generated data and results live under /tmp/bench.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
DATA=${DATA:-/tmp/bench/data}
OUT=${OUT:-/tmp/bench/results-$(date +%Y%m%d-%H%M%S)}

[[ -d $SHARED ]] || { echo "error: $SHARED not found" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || { echo "error: GNU time is needed (apt-get install time)" >&2; exit 1; }

# Install the release build outside the clone so the timed binary is fixed.
ROOT=${CAIRN_BENCH_ROOT:-/tmp/bench/cairn-bin}
cargo install --quiet --locked --path "$REPO" --root "$ROOT" --force
export OURS_BIN=$ROOT/bin/cairn

[[ -f $DATA/MANIFEST.txt ]] || python3 "$SHARED/gen.py" "$DATA"

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(anchors ours dvc)
DATA=$DATA OUT=$OUT "$SHARED/peers.sh" "${tools[@]}"
python3 "$SHARED/report.py" "$OUT" > "$OUT/REPORT.md"
echo "results: $OUT/REPORT.md"
