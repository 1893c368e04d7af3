"""Type stubs of the ``cairn`` package (see its docstrings for examples)."""

import io
import os
from typing import Any, Dict, Optional, Sequence, Union

from .errors import CairnError as CairnError
from .errors import DataError as DataError
from .errors import NotTrackedError as NotTrackedError
from .errors import RemoteError as RemoteError
from .errors import RevisionError as RevisionError

__version__: str
BUFFER_SIZE: int

_Path = Union[str, os.PathLike[str]]
_Paths = Union[_Path, Sequence[_Path], None]

class CairnFile(io.BufferedReader):
    @property
    def size(self) -> int: ...
    def report(self) -> Dict[str, Any]: ...

def open(path: _Path, rev: Optional[str] = None, repo: _Path = ".",
         remote: Optional[str] = None) -> CairnFile: ...
def read(path: _Path, rev: Optional[str] = None, repo: _Path = ".",
         remote: Optional[str] = None) -> bytes: ...
def ls(path: _Paths = None, rev: Optional[str] = None, repo: _Path = ".",
       recursive: bool = False) -> Dict[str, Any]: ...
def get(url: str, path: _Path, rev: str = "HEAD", out: Optional[_Path] = None,
        remote: Optional[str] = None) -> Dict[str, Any]: ...

class Repo:
    def __init__(self, path: _Path = ".") -> None: ...
    @property
    def root(self) -> str: ...
    def status(self, paths: _Paths = None) -> Dict[str, Any]: ...
    def add(self, paths: _Paths, untrack_git: bool = False) -> Dict[str, Any]: ...
    def push(self, revs: Union[str, Sequence[str], None] = None, paths: _Paths = None,
             remote: Optional[str] = None) -> Dict[str, Any]: ...
    def pull(self, rev: Optional[str] = None, paths: _Paths = None,
             remote: Optional[str] = None, force: bool = False) -> Dict[str, Any]: ...
