#!/usr/bin/env bash
# A local Garage server (https://garagehq.deuxfleurs.fr): a production S3
# store with its own behaviour (no conditional PUTs, its own region name,
# path-style requests), as a second S3 implementation beside moto.
#
#   scripts/garage-server.sh install        build Garage with cargo (cached
#                                           outside the clone, once)
#   scripts/garage-server.sh start [PORT]   install if needed, start a
#                                           one-node cluster on 127.0.0.1,
#                                           create bucket "cairn-test" and a
#                                           key for it, print env
#   scripts/garage-server.sh stop [PORT]    stop it
#
# `eval "$(scripts/garage-server.sh start)"` exports CAIRN_TEST_GARAGE_*
# (endpoint, region, key id, secret, bucket), which tests/it/stores.rs uses.
set -euo pipefail

VERSION=2.5.0
ROOT="${CAIRN_GARAGE_ROOT:-$HOME/.cache/cairn-ci/garage-$VERSION}"
BIN="$ROOT/bin/garage"
PORT="${2:-${CAIRN_GARAGE_PORT:-3900}}"
STATE="${TMPDIR:-/tmp}/cairn-garage-$PORT"
# Fixed test credentials (Garage key ids are GK + 24 hex digits).
KEY_ID=GK0123456789abcdef01234567
SECRET=0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
REGION=garage

install() {
    if [ -x "$BIN" ]; then
        return
    fi
    echo "building Garage $VERSION into $ROOT (once; takes a while)" >&2
    CARGO_TARGET_DIR="$ROOT/build" nice -n 10 cargo install garage --version "$VERSION" \
        --locked --root "$ROOT" --no-default-features --features bundled-libs,sqlite >&2
    rm -rf "$ROOT/build"
}

g() {
    "$BIN" -c "$STATE/garage.toml" "$@"
}

start() {
    install
    rm -rf "$STATE"
    mkdir -p "$STATE/meta" "$STATE/data"
    local rpc=$((PORT + 1)) admin=$((PORT + 2))
    cat >"$STATE/garage.toml" <<EOF
metadata_dir = "$STATE/meta"
data_dir = "$STATE/data"
db_engine = "sqlite"
replication_factor = 1
rpc_bind_addr = "127.0.0.1:$rpc"
rpc_public_addr = "127.0.0.1:$rpc"
rpc_secret = "$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')"

[s3_api]
s3_region = "$REGION"
api_bind_addr = "127.0.0.1:$PORT"

[admin]
api_bind_addr = "127.0.0.1:$admin"
EOF
    nohup "$BIN" -c "$STATE/garage.toml" server >"$STATE/log" 2>&1 &
    echo $! >"$STATE/pid"
    local node=""
    for _ in $(seq 1 100); do
        if node=$(g node id -q 2>/dev/null); then
            break
        fi
        sleep 0.1
    done
    if [ -z "$node" ]; then
        echo "Garage did not start on port $PORT; see $STATE/log" >&2
        exit 1
    fi
    g layout assign -z dc1 -c 1G "${node%%@*}" >/dev/null
    g layout apply --version 1 >/dev/null
    g key import --yes -n cairn-test "$KEY_ID" "$SECRET" >/dev/null
    g bucket create cairn-test >/dev/null
    g bucket allow --read --write --owner cairn-test --key cairn-test >/dev/null
    cat <<ENV
export CAIRN_TEST_GARAGE_ENDPOINT=http://127.0.0.1:$PORT
export CAIRN_TEST_GARAGE_REGION=$REGION
export CAIRN_TEST_GARAGE_KEY_ID=$KEY_ID
export CAIRN_TEST_GARAGE_SECRET=$SECRET
export CAIRN_TEST_GARAGE_BUCKET=cairn-test
ENV
}

case "${1:-}" in
install)
    install
    ;;
start)
    start
    ;;
stop)
    if [ -f "$STATE/pid" ]; then
        pid=$(cat "$STATE/pid")
        kill "$pid" 2>/dev/null || true
        # The state (objects, logs) goes with the server: benchmarks leave
        # gigabytes there, and nothing reads them once the server is gone.
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    fi
    rm -rf "$STATE"
    ;;
*)
    echo "usage: $0 install | start [PORT] | stop [PORT]" >&2
    exit 2
    ;;
esac
