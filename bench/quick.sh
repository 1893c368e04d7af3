#!/usr/bin/env bash
# hyperfine timings of the commands that must feel instant: start-up, and
# `status` / re-`add` of an unchanged 20,000-file tree. Uses the shared
# `many` dataset (generated on first use).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
DATA=${DATA:-/tmp/bench/data}
WORK=${WORK:-/tmp/bench/quick}
command -v hyperfine >/dev/null || { echo "error: hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml"
B=$REPO/target/release/cairn
[[ -f $DATA/MANIFEST.txt ]] || python3 "$SHARED/gen.py" "$DATA"

rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
git init -q . && "$B" init -q && cp -a "$DATA/many" .
# Old timestamps, as in a real checkout, so no entry is "racily" new.
find many -type f -exec touch -d '2020-01-01' {} +
"$B" add -q many
hyperfine --warmup 3 -N \
  "$B --version" \
  "$B status" \
  "$B add -q many"
