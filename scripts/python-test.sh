#!/usr/bin/env bash
# The Python package's tests (python/tests, pytest), as scripts/test runs
# them after cargo test.
#
# Creates a venv cached outside the clone (~/.cache/cairn-ci/py-venv, or
# CAIRN_PY_VENV) with pinned maturin, pytest, pandas, pyarrow, fsspec and
# numpy (reinstalled only when the pins change), builds the package into it
# with `maturin develop` (a debug build; CARGO_TARGET_DIR is honoured, so
# .ci/run's cached target directory is reused) and runs pytest. The S3
# tests use the server scripts/test started (CAIRN_TEST_S3_ENDPOINT and the
# AWS_* variables); run alone, this script starts its own moto.
# Extra arguments go to pytest (e.g. `scripts/python-test.sh -k fsspec`).
set -euo pipefail
cd "$(dirname "$0")/.."

venv="${CAIRN_PY_VENV:-$HOME/.cache/cairn-ci/py-venv}"
pins="maturin==1.16.0 pytest==9.2.0 pandas==3.1.1 pyarrow==26.0.1 fsspec==2026.9.0 numpy==2.4.6"
if [ "$(cat "$venv/.cairn-pins" 2>/dev/null)" != "$pins" ]; then
    echo "== python venv: $venv ($pins)" >&2
    rm -rf "$venv"
    python3 -m venv "$venv"
    # shellcheck disable=SC2086 # one word per pin
    "$venv/bin/pip" install -q --disable-pip-version-check $pins
    echo "$pins" > "$venv/.cairn-pins"
fi

echo "== maturin develop (python/)" >&2
VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" \
    "$venv/bin/maturin" develop --locked -q -m python/Cargo.toml

if [ -z "${CAIRN_TEST_S3_ENDPOINT:-}" ]; then
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    trap 'scripts/s3-server.sh stop "$port"' EXIT
    eval "$(scripts/s3-server.sh start "$port")"
fi

echo "== pytest python/tests" >&2
"$venv/bin/python" -m pytest -q -p no:cacheprovider python/tests "$@"
