#!/usr/bin/env bash
# Time whole cairn commands next to DVC (and the raw-hardware anchors) on the
# shared reference datasets, in one invocation so that the ratios hold even
# on a noisy machine. Wraps ../shared/bench/peers.sh; see its README.
#
#   bench/peers.sh                    # anchors, cairn, DVC; one run
#   RUNS="1 2" bench/peers.sh ours dvc lfs
#   PAIRED=0 bench/peers.sh ours      # without the copy-paired cairn flow
#   bench/peers.sh paired             # only the copy-paired cairn flow
#
# The copy-paired flow (PAIRED=1, the default when `ours` runs): on the big
# and text datasets, each write-heavy cairn step (add, checkout after rm,
# push to a folder, pull into a fresh clone, pull --no-cache into another)
# runs right after a plain `cp` of the same bytes to the filesystem the step
# writes to, and REPORT.md gets a table of step / copy ratios. Wall times on
# a shared VM swing 3-5x with page-cache pressure; a copy made just before
# is the yardstick that moves with them.
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
# cairn keeps its cache in git's directory (docs/FORMAT.md §8.2).
export OURS_STORE=${OURS_STORE:-.git/cairn}

[[ -f $DATA/MANIFEST.txt ]] || python3 "$SHARED/gen.py" "$DATA"

tools=("$@")
[[ ${#tools[@]} -gt 0 ]] || tools=(anchors ours dvc)
PAIRED=${PAIRED:-}
shared=()
for t in "${tools[@]}"; do
  case $t in
    paired) PAIRED=1 ;;
    ours) shared+=("$t"); PAIRED=${PAIRED:-1} ;;
    *) shared+=("$t") ;;
  esac
done
mkdir -p "$OUT"
if ((${#shared[@]})); then
  DATA=$DATA OUT=$OUT "$SHARED/peers.sh" "${shared[@]}"
  python3 "$SHARED/report.py" "$OUT" > "$OUT/REPORT.md"
fi
if [[ ${PAIRED:-0} == 1 ]]; then
  DATA=$DATA OUT=$OUT OURS_BIN=$OURS_BIN "$HERE/paired.sh" >> "$OUT/REPORT.md"
fi
echo "results: $OUT/REPORT.md"
