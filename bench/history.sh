#!/usr/bin/env bash
# Times the history commands (issue "cairn history"): `ls` and `diff` between
# two revisions of the 20,000-file dataset, and `log` over a 1,000-commit
# history, with hyperfine. Uses the shared `many` dataset.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
DATA=${DATA:-/tmp/bench/data}
WORK=${WORK:-/tmp/bench/history}
command -v hyperfine >/dev/null || { echo "error: hyperfine is needed (apt-get install hyperfine)" >&2; exit 1; }
cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml"
B=$REPO/target/release/cairn
[[ -f $DATA/MANIFEST.txt ]] || python3 "$SHARED/gen.py" "$DATA"
export GIT_CONFIG_GLOBAL=$WORK/gitconfig GIT_CONFIG_NOSYSTEM=1
rm -rf "$WORK" && mkdir -p "$WORK"
printf '[user]\n\tname = bench\n\temail = bench@example.invalid\n[gc]\n\tauto = 0\n' > "$GIT_CONFIG_GLOBAL"

# Two revisions of 20,000 files: v2 edits 200 files and adds 100.
cd "$WORK" && git init -q -b main repo && cd repo
"$B" init -q && cp -a "$DATA/many" .
"$B" add -q many && git add -A && git commit -qm v1
mapfile -t edits < <(find many -name '*.txt' | sort | head -n 200)
for f in "${edits[@]}"; do echo edit >> "$f"; done
for i in $(seq 1 100); do head -c 5000 /dev/urandom > "many/new-$i.bin"; done
"$B" add -q many && git add -A && git commit -qm v2

# 1,000 commits that each change one pointer (made with fast-import, so the
# history is real git history without 1,000 `cairn add` runs).
cd "$WORK" && git init -q -b main logrepo && cd logrepo
"$B" init -q && git add -A && git commit -qm init
python3 - <<'PY' | git fast-import --quiet
import hashlib
print("reset refs/heads/main\nfrom refs/heads/main^0")
for i in range(1000):
    id = hashlib.blake2b(str(i).encode(), digest_size=32).hexdigest()
    ptr = f"cairn-pointer 1\nkind file\nid {id}\nsize {1000 + i}\nmode 100644\n"
    other = f"cairn-pointer 1\nkind file\nid {id}\nsize 7\nmode 100644\n"
    print("commit refs/heads/main")
    print(f"committer bench <bench@example.invalid> {1700000000 + i} +0000")
    msg = f"step {i}"
    print(f"data {len(msg)}\n{msg}")
    print(f"M 100644 inline model.bin.cairn\ndata {len(ptr)}\n{ptr}")
    if i % 2 == 0:
        print(f"M 100644 inline other.bin.cairn\ndata {len(other)}\n{other}")
PY
git checkout -q -f main

hyperfine --warmup 2 -N \
  "$B -C $WORK/repo ls HEAD~1" \
  "$B -C $WORK/repo diff HEAD~1 HEAD" \
  "$B -C $WORK/logrepo log model.bin"
