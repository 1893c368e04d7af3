#!/usr/bin/env bash
# The real tools `cairn import` is tested against, installed on first use
# outside the clone (~/.cache/cairn-ci) and reused afterwards:
#
#   DVC      pinned from PyPI into a venv
#   git-lfs  the distribution's package, unpacked (not installed system-wide)
#
# `eval "$(scripts/dvc-env.sh)"` exports CAIRN_TEST_DVC (the dvc program)
# and CAIRN_TEST_GIT_LFS (the directory holding git-lfs, for PATH), which
# tests/it/import.rs uses. A tool that cannot be installed is left unset
# with a message on stderr; under CI=true the tests then fail, not skip.
set -euo pipefail

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/cairn-ci"
DVC_VERSION="3.67.1"
VENV="${CAIRN_DVC_VENV:-$CACHE/dvc-venv}"
LFS_DIR="$CACHE/git-lfs"

if [ ! -x "$VENV/bin/dvc" ] || ! "$VENV/bin/dvc" --version 2>/dev/null | grep -qx "$DVC_VERSION"; then
    echo "installing dvc $DVC_VERSION into $VENV" >&2
    { python3 -m venv "$VENV" && "$VENV/bin/pip" install -q "dvc==$DVC_VERSION"; } >&2 \
        || echo "could not install dvc" >&2
fi
if [ -x "$VENV/bin/dvc" ]; then
    echo "export CAIRN_TEST_DVC='$VENV/bin/dvc'"
fi

if [ ! -x "$LFS_DIR/usr/bin/git-lfs" ]; then
    echo "unpacking git-lfs into $LFS_DIR" >&2
    mkdir -p "$LFS_DIR"
    (
        cd "$LFS_DIR"
        rm -f git-lfs_*.deb
        { apt-get download git-lfs || { apt-get update -qq && apt-get download git-lfs; }; } >&2
        dpkg-deb -x git-lfs_*.deb .
    ) || echo "could not unpack git-lfs" >&2
fi
if [ -x "$LFS_DIR/usr/bin/git-lfs" ]; then
    echo "export CAIRN_TEST_GIT_LFS='$LFS_DIR/usr/bin'"
fi
