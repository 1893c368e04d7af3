#!/usr/bin/env bash
# A local Azure Blob Storage emulator (Azurite) for cairn's tests.
#
#   scripts/azure-server.sh install        npm-install Azurite and the Python
#                                          client used to create containers
#                                          (both cached outside the clone)
#   scripts/azure-server.sh start [PORT]   install if needed, start on
#                                          127.0.0.1, create container
#                                          "cairn-test", print env
#   scripts/azure-server.sh stop [PORT]
#
# `eval "$(scripts/azure-server.sh start)"` exports AZURE_STORAGE_USE_EMULATOR
# and AZURITE_BLOB_STORAGE_URL (read by cairn through object_store) and
# CAIRN_TEST_AZURE_URL (read by the tests).
set -euo pipefail

DIR="${CAIRN_AZURITE_DIR:-$HOME/.cache/cairn-ci/azurite}"
VENV="${CAIRN_MOTO_VENV:-$HOME/.cache/cairn-ci/moto-venv}"
PORT="${2:-${CAIRN_AZURE_PORT:-10000}}"
STATE="${TMPDIR:-/tmp}/cairn-azurite-$PORT"

install() {
    if [ ! -x "$DIR/node_modules/.bin/azurite-blob" ]; then
        echo "installing Azurite into $DIR" >&2
        mkdir -p "$DIR"
        (cd "$DIR" && npm install --no-audit --no-fund --silent azurite@3 >&2)
    fi
    if [ ! -x "$VENV/bin/python" ]; then
        python3 -m venv "$VENV" >&2
    fi
    if ! "$VENV/bin/python" -c "import azure.storage.blob" 2>/dev/null; then
        "$VENV/bin/pip" install -q azure-storage-blob >&2
    fi
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
        nohup "$DIR/node_modules/.bin/azurite-blob" --inMemoryPersistence --disableTelemetry \
            --skipApiVersionCheck --silent --blobHost 127.0.0.1 --blobPort "$PORT" \
            >"$STATE/log" 2>&1 &
        echo $! >"$STATE/pid"
    fi
    url="http://127.0.0.1:$PORT"
    "$VENV/bin/python" "$(dirname "$0")/../scripts/azurite_container.py" "$url" cairn-test >&2
    cat <<ENV
export AZURE_STORAGE_USE_EMULATOR=true
export AZURITE_BLOB_STORAGE_URL=$url
export CAIRN_TEST_AZURE_URL=$url
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
