#!/usr/bin/env bash
# Each write-heavy cairn step right after a plain copy of the same bytes.
#
#   OURS_BIN=path/to/cairn bench/paired.sh >> REPORT.md
#
# On each dataset (DATASETS, default "big text"), in a fresh repo under WORK:
# `cp` of the dataset to the filesystem the step writes to (the cache, the
# work tree, the folder remote, the clone), then the step itself: add,
# checkout after `rm`, push to a folder remote, pull into a fresh clone, and
# pull --no-cache into another (the disk holds at most four copies of the
# dataset at once). Both are timed the same way (GNU time, after
# a `sync`), back to back, so the ratio step / copy holds on a machine whose
# write speed swings with page-cache pressure. A step that makes what it
# writes durable (add and pull fsync the cache's packs, push the remote's)
# is paired with a copy that is fsynced too (`cp` then `sync FILE`, which
# flushes that file alone); checkout and pull --no-cache write only the
# work tree, which cairn (like git) leaves to the kernel, so their copy is
# a plain `cp`. The issue's own yardstick for add was `cp`+`sync`. Prints a
# markdown table; raw rows go to $OUT/paired.tsv. Called by bench/peers.sh (PAIRED=1).
set -euo pipefail
DATA=${DATA:-/tmp/bench/data}
WORK=${WORK:-/tmp/bench/work}/paired
OUT=${OUT:-/tmp/bench/paired-$(date +%Y%m%d-%H%M%S)}
DATASETS=${DATASETS:-"big text"}
OURS_BIN=${OURS_BIN:?set OURS_BIN to the cairn binary to time}
TSV=$OUT/paired.tsv
mkdir -p "$OUT"
[[ -s $TSV ]] || printf 'dataset\tstep\tbytes\tcopy_s\tstep_s\tratio\tuser_s\tsys_s\tmaxrss_mb\tcheck\tcopy_kind\n' >"$TSV"
export GIT_CONFIG_GLOBAL=${GIT_CONFIG_GLOBAL:-$WORK.gitconfig} GIT_CONFIG_NOSYSTEM=1
mkdir -p "$(dirname "$WORK")"
printf '[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = main\n' >"$GIT_CONFIG_GLOBAL"

target() { case $1 in big) echo big/big.bin ;; text) echo text/data.csv ;; *) echo "$1" ;; esac; }
say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# timed CMD... : sets T_WALL T_USER T_SYS T_RSS (GNU time after a sync)
timed() {
  local f; f=$(mktemp)
  sync
  /usr/bin/time -f '%e %U %S %M' -o "$f" "$@" >/dev/null 2>"$f.err" || { cat "$f.err" >&2; rm -f "$f" "$f.err"; return 1; }
  read -r T_WALL T_USER T_SYS T_RSS <"$f"
  rm -f "$f" "$f.err"
}

# pair DS STEP SRC COPY_DEST CHECK_A CHECK_B -- CMD... : copy, then the step.
# With DURABLE=1 in the environment the copy is fsynced as part of its time.
pair() {
  local ds=$1 step=$2 src=$3 dest=$4 a=$5 b=$6; shift 7
  if [[ ${DURABLE:-0} == 1 ]]; then
    timed sh -c 'cp "$1" "$2" && sync "$2"' copy "$src" "$dest"
  else
    timed cp "$src" "$dest"
  fi
  local copy=$T_WALL kind=cp
  [[ ${DURABLE:-0} == 1 ]] && kind=cp+fsync
  rm -f "$dest"
  timed "$@"
  local check=ok
  [[ -z $a ]] || cmp -s "$a" "$b" || check=MISMATCH
  local ratio; ratio=$(awk -v s="$T_WALL" -v c="$copy" 'BEGIN{ if (c > 0) printf "%.2f", s / c; else print "" }')
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.0f\t%s\t%s\n' "$ds" "$step" "$(stat -c %s "$src")" "$copy" "$T_WALL" \
    "$ratio" "$T_USER" "$T_SYS" "$((T_RSS / 1024))" "$check" "$kind" >>"$TSV"
  say "  $ds $step: copy ${copy}s, step ${T_WALL}s, ratio $ratio, rss $((T_RSS / 1024)) MB, $check"
}

for ds in $DATASETS; do
  T=$(target "$ds"); SRC=$DATA/$T
  w=$WORK/$ds
  rm -rf "$w" && mkdir -p "$w/repo" "$w/remote"
  cd "$w/repo"
  git init -q . && "$OURS_BIN" init -q
  mkdir -p "$(dirname "$T")" && cp "$SRC" "$T"
  say "== paired $ds ($(stat -c %s "$SRC") bytes)"
  DURABLE=1 pair "$ds" add "$SRC" "$w/repo/.cairn/copy.tmp" "" "" -- "$OURS_BIN" add -q "$T"
  "$OURS_BIN" remote add -q origin "$w/remote"
  git add -A && git commit -qm "$ds"
  rm -f "$T"
  pair "$ds" checkout "$SRC" "$w/repo/$T.copy" "$w/repo/$T" "$SRC" -- "$OURS_BIN" checkout -q
  DURABLE=1 pair "$ds" push "$SRC" "$w/remote/copy.tmp" "" "" -- "$OURS_BIN" push -q
  # The clones need only the commit and the remote: free the disk first.
  rm -rf "${w:?}/repo/$T" "$w/repo/.git/cairn/cache"
  modes=(pull)
  "$OURS_BIN" pull --help 2>/dev/null | grep -q -- --no-cache && modes+=(pull-nc)
  for mode in "${modes[@]}"; do
    c=$w/clone-$mode
    rm -rf "$c" && git clone -q "$w/repo" "$c"
    extra=(); [[ $mode == pull-nc ]] && extra=(--no-cache)
    durable=0; [[ $mode == pull ]] && durable=1
    (cd "$c" && DURABLE=$durable pair "$ds" "$mode" "$SRC" "$c/copy.tmp" "$c/$T" "$SRC" -- "$OURS_BIN" pull -q "${extra[@]}")
    rm -rf "$c"
  done
  cd / && rm -rf "$w"
done

python3 - "$TSV" <<'PY'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
names = {"pull-nc": "pull --no-cache", "checkout": "checkout after rm"}
print("\n## cairn steps next to a copy of the same bytes made right before\n")
print("| dataset | step | copy | copy s | step s | step / copy | CPU s (user+sys) | peak RSS MB | data |")
print("|---|---|---|---:|---:|---:|---:|---:|---|")
for r in rows:
    cpu = float(r["user_s"]) + float(r["sys_s"])
    print(f'| {r["dataset"]} ({int(r["bytes"]) / 1e9:.2f} GB) | {names.get(r["step"], r["step"])} | {r.get("copy_kind") or "cp"} | {r["copy_s"]} | '
          f'{r["step_s"]} | **{r["ratio"]}** | {cpu:.2f} | {r["maxrss_mb"]} | {r["check"]} |')
print("\nThe copy is `cp` of the dataset file to the filesystem the step writes to (the cache, "
      "the work tree, the folder remote, the clone), timed with GNU time after a `sync`, "
      "immediately before the step; for add, push and pull, which fsync what they store, the copy "
      "is fsynced too (`sync FILE`). `data` is a byte comparison of the restored file.")
PY
