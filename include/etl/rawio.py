"""Reading raw objects: one filesystem abstraction for local folders and ``s3://`` buckets.

Raw objects are only ever read. Many small objects are fetched concurrently (fsspec's ``cat`` on
a list of paths: s3fs issues the GETs asynchronously), and every per-object failure is kept, so a
bad object fails alone and is reported by name.
"""
from __future__ import annotations

import gzip
import posixpath
import zlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Iterable

from include.lake import filesystem

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd


@dataclass
class FileFailure:
    path: str
    error: str

    def as_dict(self) -> dict:
        return {"path": self.path, "error": self.error}


@dataclass
class ReadResult:
    """What a reader returns for one day: rows, rejected rows, and objects that failed whole."""

    data: "pd.DataFrame"
    quarantine: "pd.DataFrame"
    failures: list[FileFailure] = field(default_factory=list)
    files: int = 0
    ignored: dict[str, int] = field(default_factory=dict)


@dataclass
class RawRoot:
    """A raw root whose top folders are the source buckets, exactly as on S3."""

    root: str
    fs: object = field(init=False)
    base: str = field(init=False)

    def __post_init__(self) -> None:
        self.fs, self.base = filesystem(self.root)

    def path(self, *parts: str) -> str:
        return posixpath.join(self.base, *parts)

    def ls(self, *parts: str) -> list[str]:
        """Entries of a folder (full paths, sorted); an absent folder has none."""
        try:
            return sorted(p.rstrip("/") for p in self.fs.ls(self.path(*parts), detail=False))
        except FileNotFoundError:
            return []

    def cat(self, paths: Iterable[str]) -> dict[str, bytes | Exception]:
        """Bytes of each path, or the exception that reading it raised."""
        paths = list(paths)
        if not paths:
            return {}
        out = self.fs.cat(paths, on_error="return")
        if not isinstance(out, dict):  # a single path comes back as bytes
            out = {paths[0]: out}
        return out

    def url(self, path: str) -> str:
        return self.fs.unstrip_protocol(path) if not self.root.startswith("/") and "://" in self.root else path


def gunzip(path: str, data: bytes) -> bytes:
    """Decompress a gzip object, naming it in the error if it is damaged."""
    try:
        return gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise ValueError(f"{path}: unreadable gzip ({exc})") from None


def gunzip_many(items: dict[str, bytes]) -> tuple[dict[str, bytes], list[FileFailure]]:
    """Decompress many objects on a small thread pool (zlib releases the GIL)."""
    ok: dict[str, bytes] = {}
    failures: list[FileFailure] = []

    def one(item: tuple[str, bytes]) -> tuple[str, bytes | Exception]:
        path, data = item
        try:
            return path, gunzip(path, data)
        except ValueError as exc:
            return path, exc

    with ThreadPoolExecutor(max_workers=2) as pool:
        for path, result in pool.map(one, items.items(), chunksize=256):
            if isinstance(result, Exception):
                failures.append(FileFailure(path, str(result)))
            else:
                ok[path] = result
    return ok, failures


def split_fetched(fetched: dict[str, bytes | Exception], missing_ok: bool = False) -> tuple[dict[str, bytes], list[FileFailure]]:
    """Separate fetched bytes from read errors; with ``missing_ok`` an absent object is no failure."""
    ok, failures = {}, []
    for path, data in fetched.items():
        if isinstance(data, FileNotFoundError) and missing_ok:
            continue
        if isinstance(data, Exception):
            failures.append(FileFailure(path, f"{path}: cannot read ({type(data).__name__}: {data})"))
        else:
            ok[path] = data
    return ok, failures
