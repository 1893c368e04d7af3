#!/usr/bin/env bash
# What a fresh clone's push of an edit reads from a large remote (FORMAT.md
# §15.3): the newest index files up to a budget, then the locators of the
# pushed paths and their earlier versions, instead of every index file.
#
# A folder remote holds synthetic index files describing GB gibibytes of
# data (examples/synth_remote.rs: packs that do not exist). Per binary, on
# its own hard-linked copy of it: a repository pushes a 10 MB dataset
# (data/, 20 files of 500 kB; "first", no index cached), the other index
# files are made newer (pushes since), then a fresh clone pulls, rewrites
# 100 kB of one file and pushes ("edit"). Reports wall time, peak RSS,
# requests (cairn's count), metadata bytes read (the index files and
# locators the push opened, by strace) and bytes uploaded.
#
#   bench/push_dedup.sh                          # this checkout, 100 GiB
#   GB=1000 BEFORE=/path/to/old/cairn bench/push_dedup.sh
#
# Environment: GB=100, WORK=/tmp/push-scale/push-dedup (wiped), CAIRN_BIN
# (default: a release build of this checkout), BEFORE (another cairn to
# compare, optional), KEEP=0.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
GB=${GB:-100}
WORK=${WORK:-/tmp/push-scale/push-dedup}
TARGET=${CARGO_TARGET_DIR:-$REPO/target}
cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml" --bin cairn --example synth_remote
B=${CAIRN_BIN:-$TARGET/release/cairn}
SYNTH=$TARGET/release/examples/synth_remote
rm -rf "$WORK" && mkdir -p "$WORK/data" && cd "$WORK"

measure() { # LABEL DIR STORE BINARY: push from DIR to STORE, one line of figures
  local label=$1 dir=$2 store=$3 bin=$4 json
  json=$(cd "$dir" && CAIRN_REMOTE="$WORK/$store" /usr/bin/time -v -o "$WORK/$label.time" \
    strace -ff -qq -e trace=openat -o "$WORK/$label.trace" "$bin" push --json)
  local meta wall rss
  # Bytes of the index files and locators the push opened and did not
  # write itself (it reopens what it wrote to fsync it).
  meta=$(python3 -c '
import os, re, sys
store, trace = sys.argv[1], sys.argv[2]
made, read = set(), set()
import glob
lines = (l for f in glob.glob(trace + ".*") for l in open(f))
for line in lines:
    m = re.search(r"openat\(AT_FDCWD, \"([^\"]*/" + re.escape(store) + r"/(?:index|loc)/[^\"]*)\", ([A-Z_|]+).*= (-?\d+)", line)
    if not m or "O_DIRECTORY" in m.group(2) or int(m.group(3)) < 0:
        continue
    path = re.sub(r"#\d+$", "", m.group(1))
    (made if "O_CREAT" in m.group(2) else read).add(path)
print(sum(os.path.getsize(p) for p in read - made if os.path.isfile(p)))
' "$store" "$WORK/$label.trace")
  wall=$(awk -F': ' '/Elapsed/ {print $2}' "$WORK/$label.time")
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.1f", $2/1024}' "$WORK/$label.time")
  python3 -c '
import json, sys
label, wall, rss, meta = sys.argv[1:]
r = json.load(sys.stdin)
req = r["requests"]["reads"] + r["requests"]["writes"]
up, n = r["bytes"], r["objects"]
print(f"{label:14} wall {wall:>8}  peak RSS {rss:>8} MB  requests {req:4}  metadata read {int(meta):>11,} B  uploaded {up:>10,} B in {n} objects")
' "$label" "$wall" "$rss" "$meta" <<<"$json"
}

run() { # NAME BINARY
  local name=$1 bin=$2
  cp -al synth "store-$name"
  git init -q "src-$name" && cd "src-$name"
  git config user.email bench@example.com && git config user.name bench
  "$bin" init -q && cp -r ../data data
  "$bin" add -q data && "$bin" remote add origin "../store-$name" >/dev/null 2>&1
  git add -A && git commit -qm data
  cd ..
  measure "$name-first" "src-$name" "store-$name" "$bin"
  # Other pushes since: their index files are newer than the dataset's.
  sleep 1
  for f in synth/index/*.idx; do touch "store-$name/index/${f##*/}"; done
  git clone -q "src-$name" "clone-$name"
  (cd "clone-$name" && "$bin" pull -q && python3 -c '
import os
with open("data/part-07.bin", "r+b") as f:
    f.seek(200_000)
    f.write(os.urandom(100_000))
' && "$bin" add -q data)
  measure "$name-edit" "clone-$name" "store-$name" "$bin"
}
if [[ ${REF:-0} == 1 ]]; then
  # The reference edit case: text/data.csv (1 GiB) pushed, then the edit
  # (edit/data.csv) pushed from a fresh clone with no index cached, per
  # binary, each on its own copy of the remote. Its one index file
  # (~850 kB) is over the budget, so "after" dedups through the locator.
  DATA=${DATA:-/tmp/bench/data}
  git init -q src && cd src
  git config user.email bench@example.com && git config user.name bench
  "$B" init -q && cp "$DATA/text/data.csv" data.csv
  "$B" add -q data.csv && "$B" remote add origin ../store >/dev/null 2>&1
  git add -A && git commit -qm text && "$B" push -q
  rm -rf data.csv .git/cairn/cache
  cd ..
  ref() { # NAME BINARY
    cp -al store "store-$1"
    git clone -q src "clone-$1"
    (cd "clone-$1" && cp "$DATA/edit/data.csv" data.csv && "$2" add -q data.csv)
    measure "$1-ref-edit" "clone-$1" "store-$1" "$2"
    rm -rf "clone-$1"
  }
  ref after "$B"
  if [[ -n ${BEFORE:-} ]]; then ref before "$BEFORE"; fi
  [[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
  exit 0
fi
"$SYNTH" synth "$GB" >/dev/null
for i in $(seq -w 1 20); do head -c 500000 /dev/urandom > "data/part-$i.bin"; done
echo "remote: $(find synth/index -name '*.idx' -printf '%s\n' | awk '{s+=$1} END {print s}') bytes of index files describing $GB GiB of other data"
run after "$B"
if [[ -n ${BEFORE:-} ]]; then run before "$BEFORE"; fi
[[ ${KEEP:-0} == 1 ]] || rm -rf "$WORK"
