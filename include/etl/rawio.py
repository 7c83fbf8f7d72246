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

from fsspec.implementations.local import LocalFileSystem

from include.lake import filesystem

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Objects decompressed per thread-pool task.
GUNZIP_BATCH = 256


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
        if isinstance(self.fs, LocalFileSystem):
            # Same keys and order as fsspec's ``cat`` (its expanded paths), read with plain
            # ``open``: fsspec's per-file overhead is most of the time on ~20,000 small files.
            return {path: _read_local(path) for path in self.fs.expand_path(paths)}
        out = self.fs.cat(paths, on_error="return")
        if not isinstance(out, dict):  # a single path comes back as bytes
            out = {paths[0]: out}
        return out


def _read_local(path: str) -> bytes | Exception:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except Exception as exc:  # noqa: BLE001 - returned, like fsspec's cat(on_error="return")
        return exc


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

    def some(batch: list[tuple[str, bytes]]) -> list[tuple[str, bytes | Exception]]:
        out = []
        for path, data in batch:
            try:
                out.append((path, gunzip(path, data)))
            except ValueError as exc:
                out.append((path, exc))
        return out

    # Whole batches per task: one future per object costs more than inflating a small object.
    pairs = list(items.items())
    batches = [pairs[i:i + GUNZIP_BATCH] for i in range(0, len(pairs), GUNZIP_BATCH)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for batch in pool.map(some, batches):
            for path, result in batch:
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
