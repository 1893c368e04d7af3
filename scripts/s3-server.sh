#!/usr/bin/env bash
# A local S3-compatible server (moto) for cairn's tests and benchmarks.
#
#   scripts/s3-server.sh install        create the venv (cached outside the clone)
#   scripts/s3-server.sh start [PORT]   install if needed, start on 127.0.0.1,
#                                       create bucket "cairn-test", print env
#   scripts/s3-server.sh stop [PORT]    stop it
#
# `eval "$(scripts/s3-server.sh start)"` exports AWS_ACCESS_KEY_ID,
# AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT, AWS_ALLOW_HTTP and
# CAIRN_TEST_S3_ENDPOINT, which the tests use. CAIRN_MOTO_SERVER points the
# tests at the server binary so they can start private servers (for request
# counting and authentication checks).
set -euo pipefail

VENV="${CAIRN_MOTO_VENV:-$HOME/.cache/cairn-ci/moto-venv}"
PORT="${2:-${CAIRN_S3_PORT:-5055}}"
STATE="${TMPDIR:-/tmp}/cairn-s3-$PORT"

install() {
    if [ -x "$VENV/bin/moto_server" ]; then
        return
    fi
    echo "installing moto into $VENV" >&2
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q "moto[s3]==5.2.5" flask flask-cors >&2
}

wait_ready() {
    for _ in $(seq 1 100); do
        if curl -fsS "http://127.0.0.1:$PORT/moto-api/" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "moto did not start on port $PORT; see $STATE/log" >&2
    exit 1
}

case "${1:-}" in
install)
    install
    ;;
start)
    install
    mkdir -p "$STATE"
    if [ -f "$STATE/pid" ] && kill -0 "$(cat "$STATE/pid")" 2>/dev/null; then
        echo "already running (pid $(cat "$STATE/pid"))" >&2
    else
        nohup "$VENV/bin/moto_server" -H 127.0.0.1 -p "$PORT" >"$STATE/log" 2>&1 &
        echo $! >"$STATE/pid"
    fi
    wait_ready
    curl -fsS -X PUT "http://127.0.0.1:$PORT/cairn-test" >/dev/null
    cat <<ENV
export AWS_ACCESS_KEY_ID=cairn-test-key
export AWS_SECRET_ACCESS_KEY=cairn-test-secret
export AWS_REGION=us-east-1
export AWS_ENDPOINT=http://127.0.0.1:$PORT
export AWS_ALLOW_HTTP=true
export CAIRN_TEST_S3_ENDPOINT=http://127.0.0.1:$PORT
export CAIRN_MOTO_SERVER=$VENV/bin/moto_server
ENV
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
