#!/usr/bin/env bash
# push and pull, cairn next to DVC, to a folder remote and to two local S3
# servers (moto, and Garage, a production S3 store), on the shared `many`
# (20,000 files) and `big` (2 GiB) datasets, in one invocation. S3 traffic
# goes through scripts/count-proxy.py (one per server), so request counts and
# bytes are measured at the server side.
#
#   bench/remote.sh                          # everything, ~10-20 min
#   SKIP="dvc:s3:many" bench/remote.sh       # leave out DVC's 20,000 PUTs to moto
#   DATASETS=many TOOLS=cairn bench/remote.sh
#
# Environment (all optional):
#   DATA=/tmp/bench/data       shared datasets (../shared/bench/gen.py, made if missing)
#   WORK=/tmp/bench/remote     scratch repos, clones and folder remotes (wiped)
#   OUT=/tmp/bench/remote-results-DATE   results.tsv, requests.tsv, logs/, REPORT.md
#   VENV=/tmp/bench/venv       venv with dvc and dvc-s3 (dvc-s3 installed if missing)
#   CAIRN_BIN=                 a cairn binary to time (default: cargo build --release, copied to $WORK)
#   TOOLS="cairn dvc"  REMOTES="folder s3 garage"  DATASETS="many big"
#                              (s3 = moto; garage = scripts/garage-server.sh)
#   SKIP=""                    TOOL:REMOTE:DATASET triples to leave out, e.g. "dvc:s3:many dvc:s3:big"
#   S3_PORT=5081               moto listens here, the counting proxy on S3_PORT+1
#   GARAGE_PORT=5091           Garage's S3 API (and RPC, admin on +1, +2); its proxy on +3
#   NO_CACHE=1                 also time cairn `pull --no-cache` (a step "pull-nc") per remote
#   STEP_TIMEOUT=1800          kill a timed step after this many seconds
#   QUIET_LOAD=0               >0: before each tool x dataset, wait until the 1-min load < this
#   QUIET_MAX_S=300            ...but at most this many seconds
#   CAIRN_DESC=                a note on where CAIRN_BIN came from, for the report
#   KEEP=0                     1: keep the work dirs
#
# Each timed step runs as `/usr/bin/time -v timeout STEP_TIMEOUT CMD` after a
# `sync`, like ../shared/bench/peers.sh: wall from date +%s.%N, peak RSS of the
# largest process of the step (the client only: moto and the proxy are not in
# its tree). Pulls run in a fresh `git clone` with an empty cache. Requests are
# the proxy's log lines for the step: reads = GET+HEAD (LIST is a GET), writes
# = PUT+POST+DELETE. S3 wall times include moto and the Python proxy sharing
# the machine, so compare them between tools, not with a real S3.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
SHARED=${SHARED:-$REPO/../shared/bench}
DATA=${DATA:-/tmp/bench/data}
WORK=${WORK:-/tmp/bench/remote}
OUT=${OUT:-/tmp/bench/remote-results-$(date +%Y%m%d-%H%M%S)}
VENV=${VENV:-/tmp/bench/venv}
TOOLS=${TOOLS:-"cairn dvc"}
REMOTES=${REMOTES:-"folder s3 garage"}
DATASETS=${DATASETS:-"many big"}
SKIP=${SKIP:-}
S3_PORT=${S3_PORT:-5081}
PROXY_PORT=$((S3_PORT + 1))
GARAGE_PORT=${GARAGE_PORT:-5091}
GPROXY_PORT=$((GARAGE_PORT + 3))
NO_CACHE=${NO_CACHE:-1}
STEP_TIMEOUT=${STEP_TIMEOUT:-1800}
QUIET_LOAD=${QUIET_LOAD:-0}
QUIET_MAX_S=${QUIET_MAX_S:-300}
KEEP=${KEEP:-0}

say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { echo "error: $*" >&2; exit 1; }
dsize() { [[ -e $1 ]] || { echo 0; return; }; find "$1" -type f -printf '%s\n' | awk '{s+=$1} END{printf "%.0f\n", s}'; }
target() { case $1 in big) echo big/big.bin ;; many) echo many ;; *) echo "$1" ;; esac; }
wait_quiet() {
  [[ $QUIET_LOAD == 0 ]] && return 0
  local waited=0 l _r
  while :; do
    read -r l _r </proc/loadavg
    awk -v l="$l" -v q="$QUIET_LOAD" 'BEGIN{exit !(l<q)}' && return 0
    ((waited >= QUIET_MAX_S)) && { say "still loaded (load1=$l) after ${waited}s; going on"; return 0; }
    sleep 10; waited=$((waited + 10))
  done
}
skipped() { [[ " $SKIP " == *" $1:$2:$3 "* ]]; }

command -v /usr/bin/time >/dev/null || die "GNU time is needed (apt-get install time)"
command -v curl >/dev/null || die "curl is needed"
[[ -d $SHARED ]] || die "$SHARED not found"

# ---------------------------------------------------------------- set-up
rm -rf "$WORK" && mkdir -p "$WORK" "$OUT/logs" || die "cannot make $WORK / $OUT"
if [[ -z ${CAIRN_BIN:-} ]]; then
  say "building cairn (release)"
  cargo build --quiet --release --locked --manifest-path "$REPO/Cargo.toml" || die "cargo build failed"
  # a copy, so that a rebuild during the run does not change the timed binary
  cp "$REPO/target/release/cairn" "$WORK/cairn" && CAIRN_BIN=$WORK/cairn
  CAIRN_DESC="built from $(git -C "$REPO" rev-parse --short HEAD)$(git -C "$REPO" diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || echo ' + uncommitted changes in src')"
fi
CAIRN=$CAIRN_BIN
[[ -x $CAIRN ]] || die "no cairn binary at $CAIRN"
[[ -f $DATA/MANIFEST.txt && -d $DATA/many && -f $DATA/big/big.bin ]] || python3 "$SHARED/gen.py" "$DATA" --only big,many || die "gen.py failed"

DVC=$VENV/bin/dvc
if [[ " $TOOLS " == *" dvc "* ]]; then
  [[ -x $VENV/bin/python ]] || python3 -m venv "$VENV" || die "cannot make $VENV"
  "$VENV/bin/python" -c 'import dvc, dvc_s3' 2>/dev/null || {
    say "installing dvc and dvc-s3 into $VENV"
    "$VENV/bin/pip" install -q dvc dvc-s3 || die "pip install dvc dvc-s3 failed"
  }
fi
export DVC_NO_ANALYTICS=1 DO_NOT_TRACK=1
export GIT_CONFIG_GLOBAL=$WORK/gitconfig GIT_CONFIG_NOSYSTEM=1
printf '[user]\n\tname = bench\n\temail = bench@example.invalid\n[init]\n\tdefaultBranch = main\n[gc]\n\tauto = 0\n[advice]\n\tdetachedHead = false\n' >"$GIT_CONFIG_GLOBAL"

# ---------------------------------------------------------------- servers
PROXY_PID=
GPROXY_PID=
MOTO_STATE=${TMPDIR:-/tmp}/cairn-s3-$S3_PORT
cleanup() {
  [[ -n $PROXY_PID ]] && kill "$PROXY_PID" 2>/dev/null
  [[ -n $GPROXY_PID ]] && kill "$GPROXY_PID" 2>/dev/null
  [[ -n ${GARAGE_STARTED:-} ]] && "$REPO/scripts/garage-server.sh" stop "$GARAGE_PORT"
  [[ -n ${MOTO_STARTED:-} ]] && "$REPO/scripts/s3-server.sh" stop "$S3_PORT"
  [[ $KEEP == 1 ]] || rm -rf "${WORK:?}/w"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PLOG=$OUT/proxy.log
MOTO_PID=
if [[ " $REMOTES " == *" s3 "* ]]; then
  if [[ -f $MOTO_STATE/pid ]] && kill -0 "$(cat "$MOTO_STATE/pid")" 2>/dev/null; then
    die "a moto server already runs on port $S3_PORT (pid $(cat "$MOTO_STATE/pid")); pick another S3_PORT"
  fi
  MOTO_STARTED=1
  env_lines=$("$REPO/scripts/s3-server.sh" start "$S3_PORT") || die "moto did not start"
  eval "$env_lines"
  MOTO_PID=$(cat "$MOTO_STATE/pid")
  : >"$PLOG"
  python3 "$REPO/scripts/count-proxy.py" "$PROXY_PORT" "http://127.0.0.1:$S3_PORT" "$PLOG" 2>"$OUT/logs/proxy.err" &
  PROXY_PID=$!
  for _ in $(seq 1 50); do curl -fsS -o /dev/null "http://127.0.0.1:$PROXY_PORT/cairn-test" 2>/dev/null && break; sleep 0.1; done
  curl -fsS -o /dev/null "http://127.0.0.1:$PROXY_PORT/cairn-test" || die "the counting proxy did not start (see $OUT/logs/proxy.err)"
  # every S3 client goes through the proxy: cairn via AWS_ENDPOINT, DVC via endpointurl
  export AWS_ENDPOINT=http://127.0.0.1:$PROXY_PORT
  unset CAIRN_TEST_S3_ENDPOINT
fi
GLOG=$OUT/proxy-garage.log
GARAGE_PID=
if [[ " $REMOTES " == *" garage "* ]]; then
  GARAGE_STARTED=1
  genv=$("$REPO/scripts/garage-server.sh" start "$GARAGE_PORT") || die "Garage did not start"
  eval "$genv"
  GARAGE_PID=$(cat "${TMPDIR:-/tmp}/cairn-garage-$GARAGE_PORT/pid")
  : >"$GLOG"
  python3 "$REPO/scripts/count-proxy.py" "$GPROXY_PORT" "$CAIRN_TEST_GARAGE_ENDPOINT" "$GLOG" 2>"$OUT/logs/proxy-garage.err" &
  GPROXY_PID=$!
  for _ in $(seq 1 50); do curl -sS -o /dev/null "http://127.0.0.1:$GPROXY_PORT/" 2>/dev/null && break; sleep 0.1; done
fi
# The environment each tool's command runs with, per remote: moto takes any
# key, Garage only its own, so the S3 steps of each server get their own
# endpoint, region and key (cairn reads them from the environment).
remote_env() {  # remote_env REMOTE -> env assignments for `env`
  case $1 in
    garage) echo "AWS_ENDPOINT=http://127.0.0.1:$GPROXY_PORT AWS_REGION=$CAIRN_TEST_GARAGE_REGION AWS_ACCESS_KEY_ID=$CAIRN_TEST_GARAGE_KEY_ID AWS_SECRET_ACCESS_KEY=$CAIRN_TEST_GARAGE_SECRET" ;;
    *) echo "CAIRN_BENCH_REMOTE=$1" ;;
  esac
}
plog() { if [[ $1 == garage ]]; then echo "$GLOG"; else echo "$PLOG"; fi; }
BUCKET=cairn-test
PREFIX=bench-$(date +%s)

# ---------------------------------------------------------------- measuring
RES=$OUT/results.tsv
printf 'step\ttool\tremote\tdataset\twall_s\tuser_s\tsys_s\tmaxrss_mb\trc\treads\twrites\tbytes_in\tbytes_out\tstore_bytes\tself_reads\tself_writes\tverify\tload1\n' >"$RES"
REQ=$OUT/requests.tsv   # per step: method, status, count
printf 'tool\tremote\tdataset\tstep\tmethod\tstatus\tcount\n' >"$REQ"

# measure NAME CMD... : sets M_WALL M_USER M_SYS M_RSS M_RC; stdout -> NAME.out, stderr -> NAME.err
measure() {
  local name=$1; shift
  local base=$OUT/logs/$name
  sync
  local t0 t1 _r
  read -r M_LOAD _r </proc/loadavg
  t0=$(date +%s.%N)
  /usr/bin/time -v -o "$base.time" timeout "$STEP_TIMEOUT" "$@" >"$base.out" 2>"$base.err"
  M_RC=$?
  t1=$(date +%s.%N)
  M_WALL=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", b-a}')
  M_USER=$(awk -F': ' '/User time \(seconds\)/{print $2}' "$base.time")
  M_SYS=$(awk -F': ' '/System time \(seconds\)/{print $2}' "$base.time")
  M_RSS=$(awk -F': ' '/Maximum resident set size/{printf "%.0f", $2/1024}' "$base.time")
  say "  $name: ${M_WALL}s rss=${M_RSS}MB rc=$M_RC load=$M_LOAD"
  if [[ $M_RC != 0 ]]; then
    say "  !! $name failed (rc=$M_RC), see $base.err"
    tail -5 "$base.err" >&2
  fi
  return 0
}

# proxy log lines written since line $1: sets P_READS P_WRITES P_IN P_OUT, appends to requests.tsv
count_requests() {
  local from=$1 tool=$2 remote=$3 ds=$4 step=$5
  sleep 0.5   # the proxy logs a request after it has answered it
  local lines; lines=$(tail -n +"$((from + 1))" "$(plog "$remote")")
  read -r P_READS P_WRITES P_IN P_OUT < <(awk '
    $1=="GET"||$1=="HEAD" {r++} $1=="PUT"||$1=="POST"||$1=="DELETE" {w++}
    {i+=$3; o+=$4} END {printf "%d %d %.0f %.0f\n", r, w, i, o}' <<<"$lines")
  awk -v t="$tool" -v rm="$remote" -v d="$ds" -v s="$step" 'NF {c[$1"\t"$5]++}
    END {for (k in c) printf "%s\t%s\t%s\t%s\t%s\t%d\n", t, rm, d, s, k, c[k]}' <<<"$lines" | sort >>"$REQ"
}

row() {  # row STEP TOOL REMOTE DS STORE_BYTES SELF_R SELF_W VERIFY  (uses M_* and P_*)
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" \
    "$M_WALL" "$M_USER" "$M_SYS" "$M_RSS" "$M_RC" "${P_READS:-}" "${P_WRITES:-}" "${P_IN:-}" "${P_OUT:-}" \
    "$5" "$6" "$7" "$8" "$M_LOAD" >>"$RES"
}

remote_url() {  # remote_url TOOL REMOTE DS
  case $2 in
    folder) echo "$W/$1-$3-remote" ;;
    s3) echo "s3://$BUCKET/$PREFIX/$1-$3" ;;
    garage) echo "s3://$CAIRN_TEST_GARAGE_BUCKET/$PREFIX/$1-$3" ;;
  esac
}

verify() { if diff -rq "$1" "$2" >/dev/null 2>&1; then echo ok; else echo MISMATCH; fi; }

# set up a repo with DS added and both remotes configured and committed
setup() {
  local tool=$1 ds=$2 T; T=$(target "$ds")
  git init -q "$W/$tool-$ds" && cd "$W/$tool-$ds" || return 1
  cp -a "$DATA/$ds" .
  case $tool in
    cairn)
      "$CAIRN" init -q || return 1
      measure "$tool.$ds.add" "$CAIRN" add -q "$T"
      for r in $REMOTES; do
        [[ $r == folder ]] && mkdir -p "$(remote_url "$tool" folder "$ds")"
        "$CAIRN" remote add -q "$r" "$(remote_url "$tool" "$r" "$ds")" || return 1
      done ;;
    dvc)
      "$DVC" init -q || return 1
      measure "$tool.$ds.add" "$DVC" add -q "$T"
      for r in $REMOTES; do
        [[ $r == folder ]] && mkdir -p "$(remote_url "$tool" folder "$ds")"
        "$DVC" remote add -q "$r" "$(remote_url "$tool" "$r" "$ds")" || return 1
        [[ $r == s3 ]] && { "$DVC" remote modify "$r" endpointurl "$AWS_ENDPOINT" || return 1; }
        if [[ $r == garage ]]; then
          "$DVC" remote modify "$r" endpointurl "http://127.0.0.1:$GPROXY_PORT" &&
            "$DVC" remote modify "$r" region "$CAIRN_TEST_GARAGE_REGION" &&
            "$DVC" remote modify --local "$r" access_key_id "$CAIRN_TEST_GARAGE_KEY_ID" &&
            "$DVC" remote modify --local "$r" secret_access_key "$CAIRN_TEST_GARAGE_SECRET" || return 1
        fi
      done ;;
  esac
  [[ $M_RC == 0 ]] || return 1
  git add -A >/dev/null && git commit -qm "$ds" || return 1
}

push_step() {  # push_step TOOL REMOTE DS
  local tool=$1 r=$2 ds=$3 from=0 store=0 sr='' sw=''
  cd "$W/$tool-$ds" || return 1
  [[ $r != folder ]] && from=$(wc -l <"$(plog "$r")")
  P_READS='' P_WRITES='' P_IN='' P_OUT=''
  # shellcheck disable=SC2046
  case $tool in
    cairn) measure "$tool.$r.$ds.push" env $(remote_env "$r") "$CAIRN" push -r "$r" --json ;;
    dvc) measure "$tool.$r.$ds.push" "$DVC" push -q -r "$r" ;;
  esac
  [[ $r != folder ]] && count_requests "$from" "$tool" "$r" "$ds" push
  [[ $r == folder ]] && store=$(dsize "$(remote_url "$tool" folder "$ds")")
  [[ $r != folder ]] && store=$P_IN
  if [[ $tool == cairn && $M_RC == 0 ]]; then
    read -r sr sw < <(python3 -c 'import json,sys; j=json.load(sys.stdin); print(j["requests"]["reads"], j["requests"]["writes"])' <"$OUT/logs/$tool.$r.$ds.push.out")
  fi
  row push "$tool" "$r" "$ds" "$store" "$sr" "$sw" ""
}

pull_step() {  # pull_step TOOL REMOTE DS [STEP [EXTRA-ARGS]]: STEP pull-nc = cairn pull --no-cache
  local tool=$1 r=$2 ds=$3 step=${4:-pull} from=0 sr='' c=$W/$tool-$ds-clone-$2 T; T=$(target "$ds")
  local extra=(); [[ $step == pull-nc ]] && extra=(--no-cache)
  rm -rf "$c"
  git clone -q "$W/$tool-$ds" "$c" && cd "$c" || return 1
  # DVC keeps Garage's key in the uncommitted config, which a clone lacks.
  if [[ $tool == dvc && $r == garage ]]; then
    "$DVC" remote modify --local "$r" access_key_id "$CAIRN_TEST_GARAGE_KEY_ID" &&
      "$DVC" remote modify --local "$r" secret_access_key "$CAIRN_TEST_GARAGE_SECRET" || return 1
  fi
  [[ $r != folder ]] && from=$(wc -l <"$(plog "$r")")
  P_READS='' P_WRITES='' P_IN='' P_OUT=''
  # shellcheck disable=SC2046
  case $tool in
    cairn) measure "$tool.$r.$ds.$step" env $(remote_env "$r") "$CAIRN" pull -r "$r" "${extra[@]}" ;;
    dvc) measure "$tool.$r.$ds.$step" "$DVC" pull -q -r "$r" ;;
  esac
  [[ $r != folder ]] && count_requests "$from" "$tool" "$r" "$ds" "$step"
  if [[ $tool == cairn ]]; then
    sr=$(grep -o 'in [0-9]* request(s)' "$OUT/logs/$tool.$r.$ds.$step.err" | grep -o '[0-9]*' | head -1)
  fi
  local v; v=$(verify "$c/$T" "$DATA/$T")
  [[ $v == ok ]] || say "  !! $tool $step $ds from $r: restored data differs from $DATA/$T"
  row "$step" "$tool" "$r" "$ds" "$(dsize "$c/.git/cairn/cache")" "$sr" "" "$v"
  cd "$W" && [[ $KEEP == 1 ]] || rm -rf "$c"
}

# ---------------------------------------------------------------- versions
{
  echo "date: $(date -u +%FT%TZ)"
  echo "host: $(nproc) cpus, $(free -g | awk '/Mem:/{print $2}') GiB, $(awk -F': ' '/model name/{print $2; exit}' /proc/cpuinfo)"
  echo "fs(WORK): $(findmnt -n -o FSTYPE -T "$WORK")"
  echo "cairn: $("$CAIRN" --version), $CAIRN ${CAIRN_DESC:-}"
  [[ " $TOOLS " == *" dvc "* ]] && echo "dvc: $("$DVC" --version) ($("$VENV/bin/python" -c 'import importlib.metadata as m; print("dvc-s3", m.version("dvc-s3"), "s3fs", m.version("s3fs"), "aiobotocore", m.version("aiobotocore"))'))"
  [[ -n $GARAGE_PID ]] && echo "garage: $("${CAIRN_GARAGE_ROOT:-$HOME/.cache/cairn-ci/garage-2.5.0}/bin/garage" --version 2>/dev/null | head -1) at 127.0.0.1:$GARAGE_PORT, counted by scripts/count-proxy.py at :$GPROXY_PORT"
  [[ -n $MOTO_PID ]] && echo "moto: $("${CAIRN_MOTO_VENV:-$HOME/.cache/cairn-ci/moto-venv}/bin/python" -c 'import moto; print(moto.__version__)') at 127.0.0.1:$S3_PORT, counted by scripts/count-proxy.py at :$PROXY_PORT"
} >"$OUT/versions.txt"
cat "$OUT/versions.txt" >&2

# ---------------------------------------------------------------- run
W=$WORK/w
mkdir -p "$W"
export DVC_SITE_CACHE_DIR=$W/dvc-site
for ds in $DATASETS; do
  for tool in $TOOLS; do
    todo=()
    for r in $REMOTES; do skipped "$tool" "$r" "$ds" || todo+=("$r"); done
    ((${#todo[@]})) || { say "== $tool $ds: all skipped"; continue; }
    wait_quiet
    say "== $tool $ds: set-up (git init, add, remotes)"
    (setup "$tool" "$ds") || { say "!! $tool $ds: set-up failed; skipping"; continue; }
    for r in "${todo[@]}"; do
      say "== $tool push $ds -> $r"; push_step "$tool" "$r" "$ds"
    done
    for r in "${todo[@]}"; do
      say "== $tool pull $ds <- $r (fresh clone)"; pull_step "$tool" "$r" "$ds"
      if [[ $tool == cairn && $NO_CACHE == 1 ]]; then
        say "== $tool pull --no-cache $ds <- $r (fresh clone)"; pull_step "$tool" "$r" "$ds" pull-nc
      fi
    done
    cd "$W" && [[ $KEEP == 1 ]] || rm -rf "$W/$tool-$ds" "$W/$tool-$ds-remote"
  done
done
MOTO_RSS=; PROXY_RSS=; GARAGE_RSS=
[[ -n $GARAGE_PID ]] && GARAGE_RSS=$(awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$GARAGE_PID/status" 2>/dev/null)
[[ -n $MOTO_PID ]] && MOTO_RSS=$(awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$MOTO_PID/status" 2>/dev/null)
[[ -n $PROXY_PID ]] && PROXY_RSS=$(awk '/VmHWM/{printf "%.0f", $2/1024}' "/proc/$PROXY_PID/status" 2>/dev/null)

# ---------------------------------------------------------------- report
python3 - "$RES" "$OUT/versions.txt" "$SKIP" "$MOTO_RSS" "$PROXY_RSS" "$OUT" "$DATA" "$GARAGE_RSS" >"$OUT/REPORT.md" <<'PY'
import csv, os, sys
res, versions, skip, moto_rss, proxy_rss, out, data, garage_rss = sys.argv[1:9]
rows = list(csv.DictReader(open(res), delimiter="\t"))
nmany = sum(len(f) for _, _, f in os.walk(os.path.join(data, "many")))
big = os.path.getsize(os.path.join(data, "big", "big.bin")) if os.path.exists(os.path.join(data, "big", "big.bin")) else 0
DS = {"many": f"{nmany:,} files",
      "big": f"{big / 2**30:g} GiB file" if big >= 2**30 else f"{big / 2**20:.0f} MiB file"}
def mb(v):
    return f"{int(v) / 1e6:,.1f} MB" if v not in ("", None) else "—"
print("# cairn and DVC: push and pull, folder and S3 (moto, Garage)\n")
print("```\n" + open(versions).read().strip() + "\n```\n")
print("| step | tool | wall s | peak RSS MB | requests (reads/writes) | bytes |")
print("|---|---|---:|---:|---|---|")
notes = []
for r in rows:
    arrow = "→" if r["step"] == "push" else "←"
    name = "pull --no-cache" if r["step"] == "pull-nc" else r["step"]
    remote = "s3 (moto)" if r["remote"] == "s3" else r["remote"]
    step = f'{name} {DS.get(r["dataset"], r["dataset"])} {arrow} {remote}'
    wall = r["wall_s"] if r["rc"] == "0" else f'{r["wall_s"]} (FAILED rc={r["rc"]})'
    if r["remote"] != "folder":
        req = f'{int(r["reads"]) + int(r["writes"]):,} ({int(r["reads"]):,}/{int(r["writes"]):,})'
        b = f'↑ {mb(r["bytes_in"])}' if r["step"] == "push" else f'↓ {mb(r["bytes_out"])}'
    else:
        req = "—"
        b = f'{mb(r["store_bytes"])} in remote' if r["step"] == "push" else "—"
    if r["step"] != "push" and r["tool"] == "cairn" and r["store_bytes"]:
        b += f'; cache {mb(r["store_bytes"])}'
    if r["tool"] == "cairn" and r["self_reads"]:
        selfr = f'{r["self_reads"]}/{r["self_writes"]}' if r["self_writes"] else r["self_reads"]
        req += f' [self: {selfr}]'
    if r["verify"] and r["verify"] != "ok":
        notes.append(f'- {r["tool"]} {step}: restored data {r["verify"]}')
    print(f'| {step} | {r["tool"]} | {wall} | {r["maxrss_mb"]} | {req} | {b} |')
print()
print("Requests are counted at the server (proxy log): reads = GET + HEAD (LIST is a GET), "
      "writes = PUT + POST + DELETE. `[self: …]` is what cairn itself reported "
      "(push --json reads/writes; pull: the request total on stderr). "
      "Bytes: S3 request bodies up (push) or response bodies down (pull); folder: "
      "bytes in the remote after the push. Peak RSS is the client's largest process. "
      "Every pull ran in a fresh `git clone` with an empty cache; "
      f'verified with diff -r: {"all ok" if not notes else "see notes"}.')
if skip.strip():
    print(f"\nSkipped (SKIP): {skip.strip()}.")
loads = [float(r["load1"]) for r in rows if r.get("load1")]
if loads:
    print(f"\n1-min load average at the start of the steps: {min(loads):.1f} to {max(loads):.1f} ({os.cpu_count()} cpus).")
if moto_rss or proxy_rss or garage_rss:
    print(f"\nServer side: moto peak RSS {moto_rss or '?'} MB, Garage peak RSS {garage_rss or '?'} MB, "
          f"count-proxy (moto's) peak RSS {proxy_rss or '?'} MB.")
if notes:
    print("\n" + "\n".join(notes))
print(f"\nRaw: {out}/results.tsv, {out}/requests.tsv, {out}/proxy.log, {out}/logs/")
PY
cat "$OUT/REPORT.md"
say "report: $OUT/REPORT.md"
