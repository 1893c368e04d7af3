"""Exceptions raised by cairn.

Every error the library reports is a :class:`CairnError`; its message says
what failed, why (``caused by:`` lines) and what to try next (the ``hint:``
line, also in :attr:`CairnError.hint`). :attr:`CairnError.kind` is the same
stable name the CLI's ``--json`` errors carry (``no_file_at``,
``data_not_on_remote``, ``git_unknown_revision``, ...).

The subclasses also derive from the built-in exception a Python program
would expect, so ``except FileNotFoundError`` catches a path that is not
tracked::

    try:
        cairn.read("data/nosuch.csv", rev="v1")
    except cairn.NotTrackedError as e:
        print(e.hint)
"""

from __future__ import annotations

from typing import Optional


class CairnError(Exception):
    """Anything cairn could not do. ``kind`` and ``hint`` say what and why."""

    def __init__(self, message: str, kind: str = "other", hint: Optional[str] = None):
        super().__init__(message)
        self.kind = kind
        self.hint = hint


class RevisionError(CairnError, LookupError):
    """A revision git does not know (or no git to resolve it in)."""


class NotTrackedError(CairnError, FileNotFoundError):
    """A path that is not a file cairn tracks at that revision."""


class RemoteError(CairnError, ConnectionError):
    """No remote configured, an unknown one, or one that failed or lacks data."""


class DataError(CairnError):
    """Stored data that failed verification: damaged, so no bytes were returned."""


_NOT_TRACKED = {
    "no_file_at",
    "not_tracked",
    "not_tracked_at",
    "not_tracked_here",
    "never_tracked",
    "no_such_path",
}
_REMOTE = {
    "no_remote",
    "unknown_remote",
    "remote",
    "read_only_remote",
    "not_on_remote",
    "data_not_on_remote",
    "remote_pack_missing",
    "bad_remote_url",
}
_DATA = {
    "corrupt_object",
    "corrupt_pack",
    "content_mismatch",
    "remote_blob_corrupt",
    "remote_corrupt",
    "remote_index_damaged",
    "missing_object",
    "not_cached",
}


def class_of(kind: str) -> type:
    """The exception class for an error of ``kind``."""
    if kind in _NOT_TRACKED:
        return NotTrackedError
    if kind in _REMOTE:
        return RemoteError
    if kind in _DATA:
        return DataError
    if kind in ("git_unknown_revision", "git_not_a_commit", "git_shallow", "git_fetch_failed"):
        return RevisionError
    return CairnError


def from_native(kind: str, message: str, hint: Optional[str]) -> CairnError:
    """Called by the native module to build the exception it raises."""
    return class_of(kind)(message, kind, hint)
