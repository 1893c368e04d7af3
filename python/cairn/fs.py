"""An fsspec filesystem for the ``cairn://`` protocol.

Registered on import of :mod:`cairn` and through the ``fsspec.specs`` entry
point, so pandas, pyarrow, polars, Dask and Hugging Face ``datasets`` read a
tracked file of any revision by URL::

    import pandas as pd
    df = pd.read_csv("cairn://data/train.csv",
                     storage_options={"rev": "v1", "repo": "/path/to/repo"})
    table = pd.read_parquet("cairn://data/train.parquet",
                            storage_options={"rev": "v2"})

The path after ``cairn://`` is relative to the repository's root. Options
(all optional): ``rev`` (commit, tag or branch; default: the work tree's
version), ``repo`` (a work tree or a git URL; default: the current
directory) and ``remote`` (a remote's name or URL). Files open as
:class:`cairn.CairnFile`: seekable, streaming only the chunks read, so a
Parquet reader that reads the footer first and then a few columns fetches
just those. The filesystem is read-only.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional

from fsspec.spec import AbstractFileSystem

import cairn


class CairnFileSystem(AbstractFileSystem):
    """Tracked data of one revision of one cairn repository, read-only."""

    protocol = "cairn"
    root_marker = ""

    def __init__(
        self,
        rev: Optional[str] = None,
        repo: str = ".",
        remote: Optional[str] = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.rev = rev
        self.repo = repo
        self.remote = remote

    @classmethod
    def _strip_protocol(cls, path: Any) -> str:
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]  # type: ignore[return-value]
        path = str(path)
        if path.startswith("cairn://"):
            path = path[len("cairn://"):]
        elif path.startswith("cairn:"):
            path = path[len("cairn:"):]
        return path.strip("/")

    def _rows(self, path: str) -> List[Dict[str, Any]]:
        report = cairn.ls(path or None, rev=self.rev, repo=self.repo, recursive=True)
        return report["paths"]

    def ls(self, path: str, detail: bool = True, **kwargs: Any) -> List[Any]:
        path = self._strip_protocol(path)
        try:
            rows = self._rows(path)
        except cairn.NotTrackedError as e:
            raise FileNotFoundError(path) from e
        out: Dict[str, Dict[str, Any]] = {}
        prefix = path + "/" if path else ""
        for row in rows:
            p = row["path"]
            if p == path and row["kind"] == "file":
                out[p] = {"name": p, "size": row["size"], "type": "file"}
                continue
            if not p.startswith(prefix):
                continue
            rest = p[len(prefix):]
            child = rest.split("/", 1)[0]
            name = prefix + child
            if "/" in rest or row["kind"] != "file":
                out.setdefault(name, {"name": name, "size": 0, "type": "directory"})
            else:
                out[name] = {"name": name, "size": row["size"], "type": "file"}
        if not out and path:
            raise FileNotFoundError(path)
        entries = sorted(out.values(), key=lambda e: e["name"])
        return entries if detail else [e["name"] for e in entries]

    def info(self, path: str, **kwargs: Any) -> Dict[str, Any]:
        path = self._strip_protocol(path)
        if not path:
            return {"name": "", "size": 0, "type": "directory"}
        for e in self.ls(path, detail=True):
            if e["name"] == path:
                return e
        return {"name": path, "size": 0, "type": "directory"}

    def _open(
        self,
        path: str,
        mode: str = "rb",
        block_size: Optional[int] = None,
        autocommit: bool = True,
        cache_options: Optional[Dict[str, Any]] = None,
        **kwargs: Any,
    ) -> cairn.CairnFile:
        if "r" not in mode or any(c in mode for c in "wax+"):
            raise PermissionError("cairn:// is read-only; use cairn add to record data")
        return cairn.open(self._strip_protocol(path), rev=self.rev, repo=self.repo,
                          remote=self.remote)

    def cat_file(self, path: str, start: Optional[int] = None, end: Optional[int] = None,
                 **kwargs: Any) -> bytes:
        with self._open(path) as f:
            if start is not None:
                f.seek(start, 0 if start >= 0 else 2)
            if end is None:
                return f.read()
            if end < 0:
                end = f.size + end
            return f.read(max(0, end - f.tell()))
