"""The lake: partitioned Parquet tables under one root, local folder or ``s3://``.

Layout (see README): ``<root>/<zone>/<table>/date=YYYY-MM-DD/part-00000.parquet``.
A partition is one file, written atomically: on a local disk to a temporary name in the same
folder and then renamed over the old one (``os.replace``); on S3 a single PUT is atomic. A rerun
for the same date therefore replaces the partition and never appends or half-writes.

Faults (tests/test_faults_*.py):

* A writer killed at any moment leaves every partition either old or new, never partial. It may
  leave a ``.tmp-<host>-<pid>-<uuid>-<name>`` file next to the partition; readers never look at
  those (they open ``part-00000.parquet`` or a named JSON), and the next write into the same folder
  removes temp files whose writer is dead (same host, pid gone) or older than a day.
* Two writers of the same partition at once: each renames its own temp file; the last rename wins
  and both succeed.
* A failed write raises :class:`LakeWriteError` naming the object (``curated/weather_daily/date=D/
  part-00000.parquet``); on S3 a failed PUT leaves the old object (or none), never a partial one.
* A lake root that cannot be written (a file where a folder should be, a parent that cannot be
  created, a read-only file system) raises :class:`LakeError` with a one-line message; the
  ``aqicast`` command prints it and exits 2.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import posixpath
import socket
import time
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import fsspec
from fsspec.implementations.local import LocalFileSystem

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd
    import pyarrow as pa

PART = "part-00000.parquet"
TMP_PREFIX = ".tmp-"
STALE_TMP_S = 24 * 3600  # a temp file this old is abandoned whoever wrote it
_HOST = socket.gethostname().replace("-", "_")


class LakeError(OSError):
    """The lake cannot be used (its root is not writable, a write failed); the message says why in
    one line, naming the root or the object."""

    def __init__(self, message: str, path: str | None = None):
        super().__init__(message)
        self.path = path


class LakeWriteError(LakeError):
    """Writing one object (a partition, a JSON document) failed; ``path`` names it."""


def _reason(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _is_stale_tmp(name: str, now: float, mtime: float) -> bool:
    """A temp file left by a dead writer on this host, or by anyone more than a day ago."""
    if now - mtime > STALE_TMP_S:
        return True
    parts = name[len(TMP_PREFIX):].split("-", 3)
    if len(parts) < 4 or parts[0] != _HOST or not parts[1].isdigit():
        return False
    try:
        os.kill(int(parts[1]), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists but not ours (EPERM): alive
        return False
    return False


def filesystem(root: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem for a root (local path or URL) and the root as that filesystem's path."""
    options = {}
    if str(root).startswith(("s3://", "s3a://")):
        # Partitions appear while a process lives (the API, a scheduler worker): never trust a
        # cached directory listing for existence checks.
        options["use_listings_cache"] = False
    fs, path = fsspec.core.url_to_fs(str(root), **options)
    return fs, path.rstrip("/")


def day_str(day: dt.date | str) -> str:
    return day if isinstance(day, str) else day.isoformat()


def parquet_bytes(df: "pd.DataFrame") -> bytes:
    """A frame as one zstd-compressed Parquet file (deterministic for the same frame). A
    dictionary-encoded (``category``) column of text is written as that text, as the frame with
    it spelt out would be (``include.etl.measurements`` keeps a day's text columns encoded)."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    table = pa.Table.from_pandas(df, preserve_index=False)
    encoded = {c: df[c].cat.categories.dtype for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)}
    if encoded:  # written as the text it stands for: the schema (and bytes) of the spelt-out frame
        table = table.cast(pa.Schema.from_pandas(df.iloc[:0].astype(encoded), preserve_index=False))
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue().to_pybytes()


@dataclass
class Lake:
    root: str

    def __post_init__(self) -> None:
        self.fs, self.base = filesystem(self.root)
        self.local = isinstance(self.fs, LocalFileSystem)

    # -- paths ---------------------------------------------------------------------------
    def path(self, *parts: str) -> str:
        return posixpath.join(self.base, *parts)

    def partition_dir(self, table: str, day: dt.date | str) -> str:
        return self.path(table, f"date={day_str(day)}")

    def partition_file(self, table: str, day: dt.date | str) -> str:
        return posixpath.join(self.partition_dir(table, day), PART)

    def url(self, path: str) -> str:
        """A path of this lake as a URL a person or another tool can use."""
        return path if self.local else self.fs.unstrip_protocol(path)

    def relative(self, path: str) -> str:
        """``path`` relative to the root (how messages name a partition)."""
        return path[len(self.base) + 1:] if path.startswith(self.base + "/") else path

    # -- bytes -----------------------------------------------------------------------------
    def put_bytes(self, path: str, data: bytes) -> None:
        """Write a whole object atomically (temp + rename locally, one PUT on S3).

        Raises :class:`LakeError` when the root itself cannot be written and
        :class:`LakeWriteError` (naming the object) for any other failed write."""
        try:
            if self.local:
                self._put_local(path, data)
            else:
                self.fs.pipe_file(path, data)
        except LakeError:
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one readable error
            raise self._write_error(path, exc) from exc

    def _put_local(self, path: str, data: bytes) -> None:
        folder = posixpath.dirname(path)
        os.makedirs(folder, exist_ok=True)
        tmp = posixpath.join(folder, f"{TMP_PREFIX}{_HOST}-{os.getpid()}-{uuid.uuid4().hex}-{posixpath.basename(path)}")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
        self._clean_tmp(folder)

    @staticmethod
    def _clean_tmp(folder: str) -> int:
        """Remove the temp files of dead writers in ``folder`` (a killed run's leftovers)."""
        removed, now = 0, time.time()
        try:
            entries = [e for e in os.scandir(folder) if e.name.startswith(TMP_PREFIX)]
        except OSError:
            return 0
        for entry in entries:
            try:
                if _is_stale_tmp(entry.name, now, entry.stat().st_mtime):
                    os.unlink(entry.path)
                    removed += 1
            except OSError:  # gone already (another writer cleaned it) or not ours to remove
                pass
        return removed

    def _write_error(self, path: str, exc: BaseException) -> LakeError:
        root_problem = self._root_problem() if self.local else None
        if root_problem:
            return LakeError(f"lake root {self.root} is not writable: {root_problem}")
        return LakeWriteError(f"could not write {self.relative(path)} in lake {self.root}: {_reason(exc)}", path)

    def _root_problem(self) -> str | None:
        """Why the local root cannot hold files, or None if it can."""
        base = self.base
        if os.path.exists(base) and not os.path.isdir(base):
            return "it is a file, not a folder"
        if not os.path.exists(base):
            parent = base
            while parent and not os.path.exists(parent):
                parent = os.path.dirname(parent)
            if parent and not os.path.isdir(parent):
                return f"{parent} is a file, not a folder"
            try:
                os.makedirs(base, exist_ok=True)
            except OSError as exc:
                return f"cannot create it ({_reason(exc)})"
        probe = posixpath.join(base, f"{TMP_PREFIX}{_HOST}-{os.getpid()}-{uuid.uuid4().hex}-probe")
        try:
            with open(probe, "wb"):
                pass
            os.unlink(probe)
        except OSError as exc:
            return _reason(exc)
        return None

    def check_writable(self) -> None:
        """Raise :class:`LakeError` if the (local) root cannot be written; S3 roots are checked by
        their first PUT."""
        problem = self._root_problem() if self.local else None
        if problem:
            raise LakeError(f"lake root {self.root} is not writable: {problem}")

    def put_new(self, path: str, data: bytes) -> bool:
        """Create ``path`` only if it does not exist (atomically); False if it already existed.

        Locally ``O_CREAT | O_EXCL``; on S3 a conditional PUT (``If-None-Match: *``, honoured by
        AWS S3 since 2024 and by moto)."""
        try:
            if self.local:
                os.makedirs(posixpath.dirname(path), exist_ok=True)
                try:
                    fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
                except FileExistsError:
                    return False
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data)
                return True
            try:
                self.fs.pipe_file(path, data, mode="create")
            except FileExistsError:
                return False
            except OSError as exc:
                if "PreconditionFailed" in str(exc) or "412" in str(exc):
                    return False
                raise
            return True
        except Exception as exc:  # noqa: BLE001
            raise self._write_error(path, exc) from exc

    def get_bytes(self, path: str) -> bytes:
        return self.fs.cat_file(path)

    def exists(self, path: str) -> bool:
        return self.fs.exists(path)

    # -- tables ------------------------------------------------------------------------------
    def write_partition(self, table: str, day: dt.date | str, df: "pd.DataFrame") -> str:
        """Replace the partition of ``table`` for ``day`` with ``df``; returns the file path."""
        path = self.partition_file(table, day)
        self.put_bytes(path, parquet_bytes(df))
        return path

    def has_partition(self, table: str, day: dt.date | str) -> bool:
        return self.exists(self.partition_file(table, day))

    def read_partition(self, table: str, day: dt.date | str, columns: list[str] | None = None, *,
                       text_as_categories: bool = False) -> "pd.DataFrame":
        """One partition as a DataFrame; ``text_as_categories`` reads every text column as a pandas
        categorical straight from Parquet's dictionary pages (no hashing of millions of strings)."""
        return self.read_table(table, day, columns, text_as_categories=text_as_categories).to_pandas()

    def read_table(self, table: str, day: dt.date | str, columns: list[str] | None = None, *,
                   text_as_categories: bool = False) -> "pa.Table":
        """One partition as an Arrow table. ``pq.ParquetFile`` reads the one file directly (a
        fifth of ``pq.read_table``'s cost on a small partition, which sets up a dataset), with
        the same table and schema metadata."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = self.partition_file(table, day)
        with contextlib.ExitStack() as stack:
            source = path if self.local else stack.enter_context(self.fs.open(path, "rb"))
            dictionary = None
            if text_as_categories:
                dictionary = [f.name for f in pq.read_schema(source)
                              if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
                if not self.local:
                    source.seek(0)
            return pq.ParquetFile(source, read_dictionary=dictionary).read(columns=columns)

    def read_partitions(
        self, table: str, days: Iterable[dt.date | str], columns: list[str] | None = None
    ) -> "pd.DataFrame":
        """Concatenate the partitions that exist among ``days`` (missing days are skipped), in
        Arrow, converted to pandas once (a column null in one partition takes the others' type)."""
        import pandas as pd
        import pyarrow as pa

        tables = [self.read_table(table, d, columns) for d in days if self.has_partition(table, d)]
        rows = [t for t in tables if t.num_rows]
        if not rows:  # keep the schema of an empty partition, so callers can still select columns
            return tables[0].to_pandas() if tables else (pd.DataFrame(columns=columns) if columns else pd.DataFrame())
        return (rows[0] if len(rows) == 1 else pa.concat_tables(rows, promote_options="permissive")).to_pandas()

    def partition_days(self, table: str) -> list[str]:
        """The dates that have a partition of ``table``, sorted."""
        root = self.path(table)
        if not self.fs.exists(root):
            return []
        days = []
        for entry in self.fs.ls(root, detail=False):
            name = posixpath.basename(entry.rstrip("/"))
            if name.startswith("date=") and self.fs.exists(posixpath.join(entry, PART)):
                days.append(name[5:])
        return sorted(days)

    # -- json ----------------------------------------------------------------------------------
    def write_json(self, path: str, obj: Any) -> str:
        self.put_bytes(path, json.dumps(obj, indent=2, sort_keys=True, default=str).encode())
        return path

    def read_json(self, path: str) -> Any:
        return json.loads(self.get_bytes(path))
