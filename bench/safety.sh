#!/usr/bin/env bash
# What the protection of un-added changes and the wider push cost, timed
# with hyperfine on the shared `many` dataset (20,000 files, 314 MB):
#
#   * status of an unchanged tree;
#   * checkout after `rm -rf` (every file written; nothing to protect);
#   * checkout between two versions that differ in 200 files (each file
#     that would be replaced is checked against what cairn recorded);
#   * a push with nothing new to a folder remote, with ten tags.
#
# Usage: bench/safety.sh [CAIRN [CAIRN_BEFORE]]  (default: this tree's
# release build). With two binaries, each row is timed for both in one
# hyperfine run, so the figures are comparable.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
DATA=${DATA:-/tmp/bench/data}
WORK=${WORK:-/tmp/bench/safety}
command -v hyperfine >/dev/null || { echo "error: hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
if [[ $# -eq 0 ]]; then
    cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml"
    set -- "$REPO/target/release/cairn"
fi
[[ -d $DATA/many ]] || python3 "$SHARED/gen.py" "$DATA" --only many

setup() { # BIN DIR
    local b=$1 d=$2
    rm -rf "$d" && mkdir -p "$d" && cd "$d"
    git init -q . && git config user.email b@b && git config user.name bench
    "$b" init -q && cp -a "$DATA/many" . && find many -type f -exec touch -d '2020-01-01' {} +
    "$b" add -q many && git add -A && git commit -qm v1 && git tag v1
    # v2: 200 files rewritten (1%).
    local f
    mapfile -t f < <(find many -name '*.txt' | sort | head -200)
    for x in "${f[@]}"; do printf 'v2\n' >>"$x"; done
    "$b" add -q many && git commit -qam v2 && git tag v2
    for i in $(seq 3 10); do git tag "t$i" v1; done
    "$b" remote add -q origin "$d/../store-$(basename "$d")" && "$b" push -q
}

# Label each binary by its position: "a" is the first, "b" the second.
labels=(a b)
bins=("$@")
for i in "${!bins[@]}"; do
    setup "${bins[$i]}" "$WORK/${labels[$i]}"
done

run() { # ROW-NAME HYPERFINE-OPTIONS... -- COMMAND-TEMPLATE (with DIR and BIN)
    local row=$1
    shift
    local opts=()
    while [[ $1 != -- ]]; do opts+=("$1"); shift; done
    shift
    local args=()
    for i in "${!bins[@]}"; do
        local d="$WORK/${labels[$i]}" cmd=${1//DIR/$WORK/${labels[$i]}}
        cmd=${cmd//BIN/${bins[$i]}}
        local prep=()
        [[ -n ${PREPARE:-} ]] && prep=(--prepare "${PREPARE//DIR/$d}")
        args+=(-n "$row (${labels[$i]})" "${prep[@]}" "$cmd")
    done
    hyperfine -S bash "${opts[@]}" "${args[@]}"
}

run "status, 20,000 unchanged files" --warmup 2 -- "cd DIR && BIN status"
PREPARE="rm -rf DIR/many" run "checkout after rm" --runs 5 -- "cd DIR && BIN checkout -q"
run "checkout v1 then v2 (200 files differ)" --warmup 1 --runs 5 -- \
    "cd DIR && BIN checkout -q v1 && BIN checkout -q v2"
run "push with nothing new, ten tags" --warmup 1 --runs 10 -- "cd DIR && BIN push -q"
