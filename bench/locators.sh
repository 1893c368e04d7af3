#!/usr/bin/env bash
# What a fresh clone's pull reads from a large remote, with and without
# locators (FORMAT.md §15.8). The remote is a folder whose index files also
# describe GB gibibytes of other data (synthetic index files of packs that
# do not exist, from examples/synth_remote.rs); a 10 MB dataset is pushed
# to it, then pulled into a fresh clone twice: with its locators, and with
# them moved aside (the whole-index path). Reports wall time, cairn's own
# request count, and the bytes of remote metadata each pull had to read
# (locators, or the listing's index files: a fresh clone has none cached).
# Server-side byte counts over S3 are in tests/it/locators.rs.
#
#   bench/locators.sh            # 100 GiB of other data
#   GB=1000 bench/locators.sh    # 1 TiB (about 850 MB of index files)
#
# Environment: GB=100, WORK=/tmp/bench/locators (wiped), CAIRN_BIN (default:
# a release build of this checkout), KEEP=0.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
GB=${GB:-100}
WORK=${WORK:-/tmp/bench/locators}
if [[ -z ${CAIRN_BIN:-} ]]; then
  cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml" --bin cairn --example synth_remote
  CAIRN_BIN=$REPO/target/release/cairn
  SYNTH=$REPO/target/release/examples/synth_remote
else
  cargo build --quiet --locked --manifest-path "$REPO/Cargo.toml" --example synth_remote
  SYNTH=${CARGO_TARGET_DIR:-$REPO/target}/debug/examples/synth_remote
fi
B=$CAIRN_BIN
rm -rf "$WORK" && mkdir -p "$WORK" && cd "$WORK"
"$SYNTH" store "$GB"

git init -q src && cd src
git config user.email bench@example.com && git config user.name bench
"$B" init -q
mkdir data
for i in $(seq -w 1 20); do head -c 500000 /dev/urandom > "data/part-$i.bin"; done
"$B" add -q data && "$B" remote add origin ../store >/dev/null 2>&1
git add -A && git commit -qm data
"$B" push -q
cd ..

pull() { # NAME: pull into a fresh clone; print seconds, requests
  rm -rf "$1" && git clone -q src "$1"
  local t0 t1 json
  t0=$(date +%s.%N)
  json=$(cd "$1" && "$B" pull --json)
  t1=$(date +%s.%N)
  diff -r src/data "$1/data" >/dev/null || { echo "error: $1 differs" >&2; exit 1; }
  local reads
  reads=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["fetch"]["requests"]["reads"])' <<<"$json")
  printf '%-18s %8.2f s %6s requests' "$1" "$(echo "$t1 - $t0" | bc)" "$reads"
}
bytes() { find "$@" -type f -printf '%s\n' 2>/dev/null | awk '{s+=$1} END {print s+0}'; }
echo "remote: $(bytes store/index) bytes of index files describing $GB GiB of other data, plus 10 MB pushed"
echo "$(pull with-locators) $(bytes store/loc) bytes of metadata (the locators)"
mv store/loc loc-aside
echo "$(pull without) $(bytes store/index) bytes of metadata (every index file)"
mv loc-aside store/loc
[[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
