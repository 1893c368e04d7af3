"""Read any version of any file a cairn repository tracks, from Python.

cairn versions large datasets and model files next to git. This package
reads them at any revision without a checkout, fetching only the chunks
that are read: from the local cache when it has them, otherwise by ranged
reads from the repository's remote (S3, GCS, Azure, HTTP or a folder),
each chunk verified against its id before a byte of it is returned.

    >>> import cairn
    >>> with cairn.open("data/train.csv", rev="v1") as f:
    ...     header = f.readline()
    >>> blob = cairn.read("models/small.bin", rev="v2", repo="../models")
    >>> import pandas as pd
    >>> df = pd.read_parquet("cairn://data/train.parquet",
    ...                      storage_options={"rev": "v1"})

``repo`` is a path to a cairn work tree (default: the current directory)
or any git URL ``cairn get`` accepts, read without a clone. ``rev`` is a
commit, tag or branch; ``None`` reads the work tree's pointers (``HEAD``
for a URL). Errors are :class:`CairnError` subclasses whose message ends
with a hint.
"""

from __future__ import annotations

import io
import json
import os
from typing import Any, Dict, List, Optional, Sequence, Union

from . import _cairn
from .errors import CairnError, DataError, NotTrackedError, RemoteError, RevisionError

__all__ = [
    "open",
    "read",
    "ls",
    "get",
    "Repo",
    "CairnFile",
    "CairnError",
    "DataError",
    "NotTrackedError",
    "RemoteError",
    "RevisionError",
]
__version__ = _cairn.__version__

PathLike = Union[str, "os.PathLike[str]"]

class CairnFile(io.RawIOBase):
    """A tracked file open for reading: ``read``, ``readinto``, ``readline``,
    ``seek``, ``tell``, iteration over lines and ``with``, as any binary
    file. Returned by :func:`open`.

    Reads are exact: ``read(n)`` fetches the chunks under those ``n`` bytes
    and no more (what random access into a large remote file needs), while
    reading in order reads ahead a few MiB in the background, so small
    sequential reads need no extra buffering. ``size`` is the file's
    length; ``report()`` says what was fetched so far (the fields of
    ``cairn cat --json``).
    """

    def __init__(self, reader: Any, name: str):
        super().__init__()
        self._native = reader
        self.name = name

    @property
    def size(self) -> int:
        """The file's size in bytes."""
        return self._native.size

    def report(self) -> Dict[str, Any]:
        """What is read and what has been fetched: metadata into the cache,
        chunks (and their bytes) read from the remote, requests made."""
        return json.loads(self._native.report())

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        self._check()
        return self._native.readinto(memoryview(b).cast("B"))

    def read(self, size: Optional[int] = -1) -> bytes:
        self._check()
        return self._native.read(-1 if size is None else size)

    def readall(self) -> bytes:
        return self.read(-1)

    def readline(self, size: Optional[int] = -1) -> bytes:
        self._check()
        return self._native.readline(-1 if size is None else size)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        self._check()
        return self._native.seek(offset, whence)

    def tell(self) -> int:
        self._check()
        return self._native.tell()

    def close(self) -> None:
        if not self.closed:
            self._native.close()
        super().close()

    def _check(self) -> None:
        if self.closed:
            raise ValueError("I/O operation on closed file")

    def __repr__(self) -> str:
        return f"<cairn.CairnFile name={self.name!r} size={self.size}>"


def _path(p: PathLike) -> str:
    return os.fspath(p)


def open(
    path: PathLike,
    rev: Optional[str] = None,
    repo: PathLike = ".",
    remote: Optional[str] = None,
) -> CairnFile:
    """Open ``path`` of ``repo`` at ``rev`` as a binary file.

    Only the chunks that are read are fetched; reading in order reads
    ahead a few MiB at a time in the background, and memory stays bounded
    whatever the file's size. The GIL is released while cairn reads.

    Args:
        path: the tracked file, or a file inside a tracked directory,
            relative to the repository's root.
        rev: a commit, tag or branch; ``None``: the work tree's version
            (``HEAD`` when ``repo`` is a URL).
        repo: a cairn work tree, or a git URL (read without a clone).
        remote: a remote's name or URL; default: the repository's own.

    Example::

        with cairn.open("models/model.bin", rev="v1") as f:
            f.seek(-8, 2)          # only the last chunk is fetched
            tail = f.read()
    """
    p = _path(path)
    r = _cairn.open_reader(p, rev, _path(repo), remote)
    return CairnFile(r, p)


def read(
    path: PathLike,
    rev: Optional[str] = None,
    repo: PathLike = ".",
    remote: Optional[str] = None,
) -> bytes:
    """The whole of ``path`` at ``rev`` as bytes (see :func:`open`).

    Example::

        labels = cairn.read("data/labels.json", rev="v2").decode()
    """
    p = _path(path)
    r = _cairn.open_reader(p, rev, _path(repo), remote)
    try:
        return r.read(-1)
    finally:
        r.close()


def ls(
    path: Union[PathLike, Sequence[PathLike], None] = None,
    rev: Optional[str] = None,
    repo: PathLike = ".",
    recursive: bool = False,
) -> Dict[str, Any]:
    """Tracked data at ``rev`` (or in the work tree), as ``cairn ls --json``
    reports it: ``{"schema": 1, "rev": ..., "commit": ..., "paths": [{"path",
    "kind", "size", "files", "id"}, ...]}``. ``recursive`` (or a path inside
    a tracked directory) lists the files inside directories.

    Example::

        for row in cairn.ls(rev="v1", recursive=True)["paths"]:
            print(row["path"], row["size"])
    """
    if path is None:
        paths: List[str] = []
    elif isinstance(path, (str, os.PathLike)):
        paths = [_path(path)]
    else:
        paths = [_path(p) for p in path]
    return json.loads(_cairn.ls(paths, rev, _path(repo), recursive))


def get(
    url: str,
    path: PathLike,
    rev: str = "HEAD",
    out: Optional[PathLike] = None,
    remote: Optional[str] = None,
) -> Dict[str, Any]:
    """Get ``path`` of the repository at ``url`` at ``rev`` into ``out``
    (default: the path's last component, in the current directory),
    without cloning it: what ``cairn get`` does. Returns its ``--json``
    report; ``out`` is never overwritten.

    Example::

        cairn.get("https://git.example.com/lab/models.git", "models/small",
                  rev="v3", out="small")
    """
    o = None if out is None else _path(out)
    return json.loads(_cairn.get(url, _path(path), rev, o, remote))


def _paths(paths: Union[PathLike, Sequence[PathLike], None]) -> List[str]:
    if paths is None:
        return []
    if isinstance(paths, (str, os.PathLike)):
        return [_path(paths)]
    return [_path(p) for p in paths]


class Repo:
    """A cairn repository: the verbs that change it, with the reports the
    CLI's ``--json`` prints. Paths are relative to the repository's root.

    Example::

        repo = cairn.Repo(".")
        repo.add("data")                 # then commit the pointer with git
        repo.push()
        print(repo.status()["paths"])
    """

    def __init__(self, path: PathLike = "."):
        self._r = _cairn.Repo(_path(path))

    @classmethod
    def init(cls, path: PathLike = ".") -> "Repo":
        """Set up cairn in the git work tree at ``path`` (``cairn init``;
        nothing changes where it already is) and open it."""
        _cairn.Repo.init(_path(path))
        return cls(path)

    @property
    def root(self) -> str:
        """The work tree's root directory."""
        return os.fspath(self._r.root)

    def status(self, paths: Union[PathLike, Sequence[PathLike], None] = None) -> Dict[str, Any]:
        """``cairn status --json``: tracked data that is modified, out of
        date, missing or not in the cache, and what the remote lacks."""
        return json.loads(self._r.status(_paths(paths)))

    def add(
        self, paths: Union[PathLike, Sequence[PathLike]], untrack_git: bool = False
    ) -> Dict[str, Any]:
        """``cairn add --json``: store files or directories and write their
        pointers (commit them with git)."""
        return json.loads(self._r.add(_paths(paths), untrack_git))

    def push(
        self,
        revs: Union[str, Sequence[str], None] = None,
        paths: Union[PathLike, Sequence[PathLike], None] = None,
        remote: Optional[str] = None,
    ) -> Dict[str, Any]:
        """``cairn push --json``: send the data of the work tree, HEAD and
        every tag (or of ``revs``) to the remote."""
        r = [revs] if isinstance(revs, str) else list(revs or [])
        return json.loads(self._r.push(r, _paths(paths), remote))

    def pull(
        self,
        rev: Optional[str] = None,
        paths: Union[PathLike, Sequence[PathLike], None] = None,
        remote: Optional[str] = None,
        force: bool = False,
    ) -> Dict[str, Any]:
        """``cairn pull --json``: fetch and check out the data of ``rev``
        (default: the work tree's pointers). Raises :class:`RemoteError`
        naming the paths no remote has."""
        return json.loads(self._r.pull(rev, _paths(paths), remote, force))

    def __repr__(self) -> str:
        return f"cairn.Repo({self.root!r})"


def _register_fsspec() -> None:
    try:
        import fsspec
    except ImportError:
        return
    fsspec.register_implementation("cairn", "cairn.fs.CairnFileSystem", clobber=True)


_register_fsspec()
