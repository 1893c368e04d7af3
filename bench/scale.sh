#!/usr/bin/env bash
# One tracked directory of N small files through every verb, with wall time
# and peak memory per step: how cairn grows with the number of files.
#
#   bench/scale.sh                    # N = 100000 and 1000000
#   SIZES="20000 100000" bench/scale.sh
#
# For each N it generates N files of 20 to 200 bytes in 1,000 subdirectories
# (deterministic, so runs compare), then times, each once under
# `/usr/bin/time -v` after a `sync`:
#   add, status (clean), status after 10 edits, re-add of the 10 edits,
#   diff against the commit, checkout after `rm -rf`, push to a folder
#   remote, pull into a fresh `git clone` with an empty cache, then in that
#   clone `verify`, `gc --grace 0` of its cache and `gc --remote --dry-run`.
# checkout and pull each follow a plain `cp -a` of the same tree into the
# same place (rows *-cp-anchor), and the report gives their ratio to it.
# It checks the restored trees with `diff -r`, and records the metadata the
# re-add stored (cache growth) next to the data it changed. The target is
# peak RSS under 200 MB at every step and time linear in N.
#
# Environment (all optional):
#   SIZES="100000 1000000"   numbers of files
#   WORK=/tmp/bench/scale    scratch (wiped per size; needs ~5 GB at 1M files)
#   OUT=/tmp/bench/scale-results-DATE   results.tsv and REPORT.md
#   CAIRN_BIN=               a cairn binary (default: cargo build --release, copied aside)
#   STEP_TIMEOUT=3600        kill a step after this many seconds
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SIZES=${SIZES:-"100000 1000000"}
WORK=${WORK:-/tmp/bench/scale}
OUT=${OUT:-/tmp/bench/scale-results-$(date +%Y%m%d-%H%M%S)}
STEP_TIMEOUT=${STEP_TIMEOUT:-3600}

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
command -v /usr/bin/time >/dev/null || die "GNU time is needed (apt-get install time)"
mkdir -p "$WORK" "$OUT/logs"

if [[ -z ${CAIRN_BIN:-} ]]; then
  cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml" || die "build failed"
  cp "$REPO/target/release/cairn" "$WORK/cairn.bin"
  CAIRN_BIN=$WORK/cairn.bin
fi
B=$CAIRN_BIN
export GIT_CONFIG_GLOBAL=$WORK/gitconfig GIT_CONFIG_NOSYSTEM=1
printf '[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n' >"$GIT_CONFIG_GLOBAL"

RES=$OUT/results.tsv
printf 'files\tstep\twall_s\tmaxrss_mb\trc\tnote\n' >"$RES"

# measure N STEP CMD...: one timed step, one row.
measure() {
  local n=$1 step=$2; shift 2
  local base=$OUT/logs/$n.$step
  sync
  local t0 t1 rc
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$base.time" timeout "$STEP_TIMEOUT" "$@" >"$base.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  local wall rss
  wall=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  rss=$(awk -F': ' '/Maximum resident set size/{printf "%.1f", $2/1024}' "$base.time")
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$n" "$step" "$wall" "$rss" "$rc" "${NOTE:-}" >>"$RES"
  say "  $n $step: ${wall}s rss=${rss}MB rc=$rc ${NOTE:-}"
  [[ $rc == 0 || $step == status-dirty || $step == diff ]] || { tail -5 "$base.log" >&2; }
  NOTE=
  return 0
}

# The wall time of the last row.
last_wall() { tail -1 "$RES" | cut -f3; }
# ratio ANCHOR: the note of a step timed after an anchor of ANCHOR seconds;
# the report turns it into the step's ratio to the anchor.
ratio() { printf 'cp -a anchor %ss' "$1"; }

# gen DIR N: N files in 1,000 subdirectories, 20-200 bytes each.
gen() {
  python3 - "$1" "$2" <<'EOF'
import os, sys
root, n = sys.argv[1], int(sys.argv[2])
for d in range(1000):
    os.makedirs(f"{root}/d{d:03d}", exist_ok=True)
for i in range(n):
    body = (f"{i},{i * 7919 % 1000003},row {i}\n" * (1 + i % 9)).encode()
    with open(f"{root}/d{i % 1000:03d}/f{i:07d}.csv", "wb") as f:
        f.write(body)
EOF
}

cache_bytes() { du -sb "$1/.git/cairn/cache" 2>/dev/null | cut -f1; }

for n in $SIZES; do
  w=$WORK/n$n
  rm -rf "$w" && mkdir -p "$w"
  say "N=$n: generating"
  git init -q "$w/repo" && cd "$w/repo" || die "no repo"
  "$B" init -q && "$B" remote add -q store "$w/remote" || die "init failed"
  git add -A && git commit -qm init
  gen "$w/repo/data" "$n"
  # Old timestamps, as in a real checkout, so no entry is "racily" new.
  find data -type f -exec touch -d '2020-01-01' {} +
  measure "$n" add "$B" add -q data
  git add -A && git commit -qm data
  measure "$n" status-clean "$B" status
  for i in $(seq 0 9); do echo "edit $i" >>"data/d00$i/f000000$i.csv"; done
  measure "$n" status-dirty "$B" status
  before=$(cache_bytes .)
  measure "$n" re-add "$B" add -q data
  NOTE="$(( $(cache_bytes .) - before )) bytes stored for 10 edits"
  printf '%s\t%s\t\t\t0\t%s\n' "$n" re-add-stored "$NOTE" >>"$RES"
  say "  $n re-add stored: $NOTE"
  NOTE=
  git add -A && git commit -qm edits
  measure "$n" diff "$B" diff HEAD~1 HEAD
  cp -a data "$w/original"
  # The anchor: a plain `cp -a` of the same tree into the same place, right
  # after the same `rm -rf`, so the row is read as a ratio. Recreating N
  # just-deleted inodes costs ext4 anything from 1x to 6x between identical
  # runs; both the copy and the checkout pay it.
  rm -rf data
  measure "$n" checkout-cp-anchor cp -a "$w/original" data
  anchor=$(last_wall)
  rm -rf data
  NOTE=$(ratio "$anchor")
  measure "$n" checkout "$B" checkout
  diff -rq data "$w/original" >/dev/null || say "  !! checkout restored different data"
  measure "$n" push "$B" push
  git clone -q "$w/repo" "$w/clone" && cd "$w/clone" || die "no clone"
  measure "$n" pull-cp-anchor cp -a "$w/original" data
  anchor=$(last_wall)
  rm -rf data
  NOTE=$(ratio "$anchor")
  measure "$n" pull env CAIRN_CACHE_DIR="$w/clone-cache" "$B" pull
  diff -rq data "$w/original" >/dev/null || say "  !! pull restored different data"
  # The cache the pull filled: re-hash it and mark what the pointers need,
  # then collect it (grace 0, so every pack is a candidate) and plan a
  # remote collection.
  measure "$n" verify env CAIRN_CACHE_DIR="$w/clone-cache" "$B" verify
  measure "$n" gc env CAIRN_CACHE_DIR="$w/clone-cache" "$B" gc --grace 0 --shared-cache
  measure "$n" gc-remote-dry-run env CAIRN_CACHE_DIR="$w/clone-cache" "$B" gc --remote store --grace 0 --dry-run
  cd "$WORK" && rm -rf "$w"
done

{
  echo "# cairn at scale: one directory of N small files"
  echo
  echo "$("$B" --version), $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ), load $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| files | step | wall s | peak RSS MB | note |"
  echo "|---:|---|---:|---:|---|"
  # A row noted with its anchor also gets its ratio to it.
  tail -n +2 "$RES" | awk -F'\t' '{
    note = $6
    if (match(note, /cp -a anchor [0-9.]+s/)) {
      a = substr(note, RSTART + 13, RLENGTH - 14) + 0
      if (a > 0) note = sprintf("%s, %.2fx of it", note, $3 / a)
    }
    printf "| %s | %s | %s | %s | %s%s |\n", $1, $2, $3, $4, ($5 != 0 && $5 != "" ? "exit " $5 " " : ""), note}'
} >"$OUT/REPORT.md"
say "results: $OUT/REPORT.md"
