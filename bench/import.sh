#!/usr/bin/env bash
# `cairn import dvc` of the shared `many` dataset (20,000 files, ~300 MB)
# from a real DVC repository with two tagged versions, next to DVC's own
# numbers for the same data: time to add and push with DVC, time to import
# (work tree + DVC cache, and from the DVC remote alone in a fresh clone),
# time to push with cairn, and the size of each remote.
#
#   bench/import.sh
#
# Environment (all optional):
#   DATA=/tmp/bench/data        shared datasets (../shared/bench/gen.py, made if missing)
#   WORK=/tmp/bench/import      scratch repos and remotes (wiped)
#   OUT=/tmp/bench/import-results-DATE   results.tsv, logs/, REPORT.md
#   DVC=                        the dvc program (default: scripts/dvc-env.sh's)
#   CAIRN_BIN=                  a cairn binary (default: cargo build --release)
#   EDIT=200                    files changed between v1 and v2
#   KEEP=0                      1: keep the work dirs
#
# Each timed step runs once under `/usr/bin/time -v` after a `sync`: wall
# time and peak RSS. Sizes are the bytes of the files under each remote.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
DATA=${DATA:-/tmp/bench/data}
WORK=${WORK:-/tmp/bench/import}
OUT=${OUT:-/tmp/bench/import-results-$(date +%Y%m%d-%H%M%S)}
EDIT=${EDIT:-200}
KEEP=${KEEP:-0}

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
dsize() { find "$1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'; }
nfiles() { find "$1" -type f | wc -l; }

command -v /usr/bin/time >/dev/null || die "GNU time is needed (apt-get install time)"
if [[ -z ${DVC:-} ]]; then
  eval "$("$REPO/scripts/dvc-env.sh")"
  DVC=${CAIRN_TEST_DVC:-}
fi
[[ -x $DVC ]] || die "no dvc program (scripts/dvc-env.sh installs one)"
if [[ ! -d $DATA/many ]]; then
  say "generating the shared datasets into $DATA"
  python3 "$SHARED/gen.py" "$DATA" --only many >&2 || die "gen.py failed"
fi
rm -rf "$WORK" && mkdir -p "$WORK" "$OUT/logs" || die "cannot make $WORK / $OUT"
if [[ -z ${CAIRN_BIN:-} ]]; then
  say "building cairn (release)"
  cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml" || die "cargo build failed"
  cp "${CARGO_TARGET_DIR:-$REPO/target}/release/cairn" "$WORK/cairn" && CAIRN_BIN=$WORK/cairn
fi
export DVC_NO_ANALYTICS=1 GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=b@example.com \
  GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=b@example.com

printf 'step\twall_s\tmax_rss_kb\n' >"$OUT/results.tsv"
# step NAME DIR CMD…: time CMD in DIR, record wall and peak RSS.
step() {
  local name=$1 dir=$2; shift 2
  sync
  local t0 t1 rc
  t0=$(date +%s.%N)
  (cd "$dir" && /usr/bin/time -v -o "$OUT/logs/$name.time" "$@") >"$OUT/logs/$name.log" 2>&1
  rc=$?
  t1=$(date +%s.%N)
  local rss
  rss=$(awk -F': ' '/Maximum resident/ {print $2}' "$OUT/logs/$name.time")
  printf '%s\t%.2f\t%s\n' "$name" "$(echo "$t1 - $t0" | bc)" "$rss" >>"$OUT/results.tsv"
  [[ $rc == 0 ]] || die "$name failed (rc $rc): see $OUT/logs/$name.log"
  say "$name done"
}

# ------------------------------------------------- the DVC repository
R=$WORK/repo
git init -q "$R" && cd "$R" || die "git init"
"$DVC" init -q && "$DVC" remote add -q -d store "$WORK/dvc-store" || die "dvc init"
git add -A && git commit -qm "dvc init"
cp -r "$DATA/many" "$R/data"
step dvc_add_v1 "$R" "$DVC" add -q data
step dvc_push_v1 "$R" "$DVC" push -q
git add -A && git commit -qm v1 && git tag v1
# v2: EDIT files rewritten with new bytes.
find "$R/data" -type f | sort | head -n "$EDIT" | while read -r f; do
  head -c "$(stat -c %s "$f")" /dev/urandom >"$f.new" && mv "$f.new" "$f"
done
step dvc_add_v2 "$R" "$DVC" add -q data
step dvc_push_v2 "$R" "$DVC" push -q
git add -A && git commit -qm v2 && git tag v2
DVC_REMOTE_BYTES=$(dsize "$WORK/dvc-store")
DVC_REMOTE_FILES=$(nfiles "$WORK/dvc-store")

# ------------------------------------------------- cairn import
# 1. In the DVC working copy: data in the work tree and the DVC cache.
"$CAIRN_BIN" init >/dev/null 2>&1
"$CAIRN_BIN" remote add origin "$WORK/cairn-store" >/dev/null 2>&1
step cairn_import "$R" "$CAIRN_BIN" import dvc --all-tags
git commit -qm "move data to cairn" && git add -A && git commit -qm remote
step cairn_push "$R" "$CAIRN_BIN" push
step cairn_import_again "$R" "$CAIRN_BIN" import dvc --all-tags
CAIRN_REMOTE_BYTES=$(dsize "$WORK/cairn-store")
CAIRN_REMOTE_FILES=$(nfiles "$WORK/cairn-store")

# 2. A fresh clone of the last DVC commit: every byte from the DVC remote.
git clone -q "$R" "$WORK/clone" && git -C "$WORK/clone" checkout -q v2
"$CAIRN_BIN" -C "$WORK/clone" init >/dev/null 2>&1
step cairn_import_from_dvc_remote "$WORK/clone" "$CAIRN_BIN" import dvc --all-tags

# 3. The check: a fresh clone restores v1 with the DVC remote gone.
mv "$WORK/dvc-store" "$WORK/dvc-store.gone"
git clone -q "$R" "$WORK/check"
step cairn_pull_v1_fresh_clone "$WORK/check" sh -c "git checkout -q v1 && $CAIRN_BIN pull"
git -C "$R" checkout -q v1 2>/dev/null
diff -r -q -x '.gitignore' "$DATA/many" "$WORK/check/data" >"$OUT/logs/check.diff" \
  && CHECK="v1 restored byte for byte from cairn with the DVC remote deleted" \
  || CHECK="v1 DIFFERS after restore: see logs/check.diff"
mv "$WORK/dvc-store.gone" "$WORK/dvc-store"

# ------------------------------------------------- report
{
  echo "# cairn import dvc: the 20,000-file dataset"
  echo
  echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores, $("$CAIRN_BIN" --version), dvc $("$DVC" --version)."
  echo "Two versions (v2 rewrites $EDIT of the files), each \`dvc add\` + \`dvc push\` to a folder remote."
  echo
  echo "| step | wall (s) | peak RSS (MB) |"
  echo "|---|---:|---:|"
  tail -n +2 "$OUT/results.tsv" | while IFS=$'\t' read -r s w r; do
    printf '| %s | %s | %s |\n' "$s" "$w" "$((r / 1024))"
  done
  echo
  echo "| remote | bytes | files |"
  echo "|---|---:|---:|"
  echo "| DVC remote (v1 + v2) | $DVC_REMOTE_BYTES | $DVC_REMOTE_FILES |"
  echo "| cairn remote after import + push (v1 + v2) | $CAIRN_REMOTE_BYTES | $CAIRN_REMOTE_FILES |"
  echo
  echo "Check: $CHECK."
} >"$OUT/REPORT.md"
cat "$OUT/REPORT.md"
[[ $KEEP == 1 ]] || rm -rf "$WORK"
