"""The lake: partitioned Parquet tables under one root, local folder or ``s3://``.

Layout (see README): ``<root>/<zone>/<table>/date=YYYY-MM-DD/part-00000.parquet``.
A partition is one file, written atomically: on a local disk to a temporary name in the same
folder and then renamed over the old one (``os.replace``); on S3 a single PUT is atomic. A rerun
for the same date therefore replaces the partition and never appends or half-writes.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import posixpath
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterable

import fsspec
from fsspec.implementations.local import LocalFileSystem

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

PART = "part-00000.parquet"


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
    """A frame as one zstd-compressed Parquet file (deterministic for the same frame)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    sink = pa.BufferOutputStream()
    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), sink, compression="zstd")
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

    # -- bytes -----------------------------------------------------------------------------
    def put_bytes(self, path: str, data: bytes) -> None:
        """Write a whole object atomically (temp + rename locally, one PUT on S3)."""
        if self.local:
            os.makedirs(posixpath.dirname(path), exist_ok=True)
            tmp = posixpath.join(posixpath.dirname(path), f".tmp-{uuid.uuid4().hex}-{posixpath.basename(path)}")
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        else:
            self.fs.pipe_file(path, data)

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

    def read_partition(self, table: str, day: dt.date | str, columns: list[str] | None = None) -> "pd.DataFrame":
        import pyarrow.parquet as pq

        with self.fs.open(self.partition_file(table, day), "rb") as fh:
            return pq.read_table(fh, columns=columns).to_pandas()

    def read_partitions(
        self, table: str, days: Iterable[dt.date | str], columns: list[str] | None = None
    ) -> "pd.DataFrame":
        """Concatenate the partitions that exist among ``days`` (missing days are skipped)."""
        import pandas as pd

        frames = [self.read_partition(table, d, columns) for d in days if self.has_partition(table, d)]
        rows = [f for f in frames if len(f)]
        if not rows:  # keep the schema of an empty partition, so callers can still select columns
            return frames[0].iloc[:0] if frames else (pd.DataFrame(columns=columns) if columns else pd.DataFrame())
        return pd.concat(rows, ignore_index=True)

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
