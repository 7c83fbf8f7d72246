"""Reading raw objects: one filesystem abstraction for local folders and ``s3://`` buckets.

Raw objects are only ever read. Many small objects are fetched concurrently (fsspec's ``cat`` on
a list of paths: s3fs issues the GETs asynchronously), and every per-object failure is kept, so a
bad object fails alone and is reported by name.

Per-object isolation. Readers parse many objects in one batch (one pyarrow call is much faster
than thousands), so a batch must never let one object's bytes change another's rows: an open
quote would otherwise swallow the following objects. :func:`isolate` accepts a batch only if its
parse *proves* it consistent (each object's rows match its data line count and sit in its own
stretch of the output); any doubt splits the batch in halves until the object at fault is alone,
where it is parsed by itself and, if still inconsistent, line by line (:func:`parse_csv_lines`).
A clean day costs one batch parse plus a few byte scans per object.

Accounting (:class:`Accounting`): every *data line* read ends up kept, quarantined, ignored or
out of partition; a line that does none of these is *unaccounted*, a bug the quality gate fails on.
"""
from __future__ import annotations

import csv
import errno
import gzip
import os
import posixpath
import re
import stat
import zlib
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, TypeVar

from fsspec.implementations.local import LocalFileSystem

from include.lake import filesystem

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

#: Objects decompressed per thread-pool task.
GUNZIP_BATCH = 256
#: Objects listed one by one in a run report's accounting (the totals cover all of them).
MAX_LISTED_OBJECTS = 1000


T = TypeVar("T")
R = TypeVar("R")


@dataclass
class FileFailure:
    """An object that could not be read at all. ``lines``: its data lines, as far as they could be
    counted (a truncated gzip: the lines of the part that inflates; ``None``: nothing readable)."""

    path: str
    error: str
    lines: int | None = None

    def as_dict(self) -> dict:
        return {"path": self.path, "error": self.error, "lines": self.lines}


@dataclass
class Accounting:
    """Where the data lines of the objects a reader read for day D went, per object.

    ``lines``: data lines per object read (see each reader for what a data line is; failed objects
    are not here, they carry their own count). ``parsed``: rows per object that framing turned into
    records and handed to the rules. ``malformed``: lines per object quarantined because they are
    not a record. ``elsewhere``: malformed lines owned by another partition (fetch folders D-1 and
    D+1 are read by D too). Kept and quarantined rows are counted from the reader's output frames,
    so the balance ``lines = kept + quarantined + set aside + elsewhere`` is checked, not assumed:
    ``unaccounted = lines - parsed - malformed - elsewhere`` must be 0.
    """

    lines: dict[str, int] = field(default_factory=dict)
    parsed: dict[str, int] = field(default_factory=dict)
    malformed: dict[str, int] = field(default_factory=dict)
    elsewhere: dict[str, int] = field(default_factory=dict)
    #: Kept rows per object, for a reader whose curated rows carry no ``file`` column (GSOD).
    kept: dict[str, int] | None = None


@dataclass
class ReadResult:
    """What a reader returns for one day: rows, rejected rows, and objects that failed whole."""

    data: "pd.DataFrame"
    quarantine: "pd.DataFrame"
    failures: list[FileFailure] = field(default_factory=list)
    files: int = 0
    ignored: dict[str, int] = field(default_factory=dict)
    accounting: Accounting = field(default_factory=Accounting)

    def accounting_report(self, max_objects: int = MAX_LISTED_OBJECTS) -> dict:
        """The run report's ``accounting`` of this source for day D.

        Totals: ``lines_read = rows_kept + rows_quarantined + rows_ignored + rows_out_of_partition
        + rows_unaccounted`` over the objects read, and the failed objects' lines apart
        (``lines_in_failed_objects``; a failure whose lines could not be counted adds 0 and is in
        ``failed_objects_lines_unknown``).

        Per object, only the objects worth a look are listed: failed ones are in
        ``failed_objects`` already (with their lines); listed here are objects with unaccounted
        lines (always, first) and objects with quarantined rows, at most ``max_objects`` in all
        (``objects_not_listed`` says how many more). A world-scale day reads ~22,000 objects, almost
        all clean: their counts add nothing the totals do not say, and the quarantine partition
        already holds every rejected row with its file. Each entry: ``path, lines, kept,
        quarantined, set_aside`` (ignored parameters, or records of another partition) and
        ``unaccounted``; ``lines = kept + quarantined + set_aside + unaccounted``.
        """
        acc = self.accounting
        kept = _file_counts(self.data) if acc.kept is None else acc.kept
        quarantined = {f: n for f, n in _file_counts(self.quarantine, acc.lines).items()}
        ignored = int(sum(self.ignored.values()))
        objects, set_aside_total, unaccounted_total = [], 0, 0
        for path, lines in acc.lines.items():
            parsed, malformed, elsewhere = acc.parsed.get(path, 0), acc.malformed.get(path, 0), acc.elsewhere.get(path, 0)
            k, q = kept.get(path, 0), quarantined.get(path, 0)
            set_aside = parsed - k - (q - malformed) + elsewhere
            unaccounted = lines - parsed - malformed - elsewhere
            set_aside_total += set_aside
            unaccounted_total += unaccounted
            if unaccounted or q:
                objects.append({"path": path, "lines": lines, "kept": k, "quarantined": q, "set_aside": set_aside,
                                "unaccounted": unaccounted})
        # Rows attributed to no object read (must not happen: rows are attributed by position).
        stray = sum(n for f, n in kept.items() if f not in acc.lines) + sum(
            n for f, n in quarantined.items() if f not in acc.lines)
        objects.sort(key=lambda o: (o["unaccounted"] == 0, -o["quarantined"], o["path"]))
        failed_lines = [f.lines for f in self.failures]
        lines_read = sum(acc.lines.values())
        return {
            "lines_read": lines_read,
            "rows_kept": len(self.data),
            "rows_quarantined": len(self.quarantine),
            "rows_ignored": ignored,
            "rows_out_of_partition": set_aside_total - ignored,
            "rows_unaccounted": unaccounted_total + stray,
            "objects_read": len(acc.lines),
            "objects_failed": len(self.failures),
            "lines_in_failed_objects": sum(n for n in failed_lines if n is not None),
            "failed_objects_lines_unknown": sum(1 for n in failed_lines if n is None),
            "objects": objects[:max_objects],
            "objects_not_listed": max(0, len(objects) - max_objects),
        }


_MAGIC = re.compile(r"[*?\[]")


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
        folder = self.path(*parts)
        if isinstance(self.fs, LocalFileSystem) and os.path.isdir(folder):
            # fsspec's local ls stats every entry (10,000 location folders on a global day).
            sep = "" if not folder or folder.endswith("/") else "/"  # posixpath.join: names hold no "/"
            return sorted(f"{folder}{sep}{name}" for name in os.listdir(folder))
        try:
            return sorted(p.rstrip("/") for p in self.fs.ls(folder, detail=False))
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
            return {path: _read_local(path) for path in _local_paths(self.fs, paths)}
        out = self.fs.cat(paths, on_error="return")
        if not isinstance(out, dict):  # a single path comes back as bytes
            out = {paths[0]: out}
        return out


    def ends(self, paths: Iterable[str], head: int, tail: int) -> dict[str, bytes | tuple[bytes, bytes] | Exception] | None:
        """The two ends of each path, for a reader that needs only a file's start and end: the whole
        file (``bytes``) when it is at most ``head + tail`` bytes long, else its first ``head`` and
        last ``tail`` bytes (a pair), or the exception that reading it raised. Keys and order as
        :meth:`cat`. ``None`` where ranged reads are not done (an object store: one GET of the
        whole object is cheaper than two ranged ones for files of a few dozen KB)."""
        paths = list(paths)
        if not isinstance(self.fs, LocalFileSystem) or not plain_paths(paths):
            return None
        return {path: _read_local_ends(path, head, tail) for path in sorted(set(paths))}


def plain_paths(paths: list[str]) -> bool:
    """Whether every path is absolute, normalised and free of glob characters (read as it is)."""
    return all(p.startswith("/") and not _MAGIC.search(p) and posixpath.normpath(p) == p for p in paths)


def _local_paths(fs, paths: list[str]) -> list[str]:
    """``fs.expand_path(paths)`` (sorted, distinct) without its per-path work when the paths are
    already plain absolute file paths (what ``ls`` and ``discover`` give)."""
    if plain_paths(paths):
        return sorted(set(paths))
    return fs.expand_path(paths)


def _read_local(path: str) -> bytes | Exception:
    """A whole local file, as ``open(path, "rb").read()`` (the same bytes, the same exceptions)
    with half its per-file cost: plain ``os`` calls, no file object."""
    try:
        fd, size = _open_local(path)
        try:
            return _read_rest(fd, size)
        finally:
            os.close(fd)
    except Exception as exc:  # noqa: BLE001 - returned, like fsspec's cat(on_error="return")
        return exc


def _read_local_ends(path: str, head: int, tail: int) -> bytes | tuple[bytes, bytes] | Exception:
    try:
        fd, size = _open_local(path)
        try:
            if size <= head + tail:
                return _read_rest(fd, size)
            return os.pread(fd, head, 0), os.pread(fd, tail, size - tail)
        finally:
            os.close(fd)
    except Exception as exc:  # noqa: BLE001 - returned, as by ``_read_local``
        return exc


def _open_local(path: str) -> tuple[int, int]:
    """A read-only descriptor and the file's size; a folder raises as ``open`` does."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    try:
        st = os.fstat(fd)
        if stat.S_ISDIR(st.st_mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _read_rest(fd: int, size: int) -> bytes:
    """Everything from the descriptor's position to the end (``size``: the expected length)."""
    first = os.read(fd, size + 1)  # one byte more than expected: a file that grew is still whole
    if not first:
        return first
    chunks = [first]
    while chunk := os.read(fd, max(size, 1 << 16)):
        chunks.append(chunk)
    return first if len(chunks) == 1 else b"".join(chunks)


class UnreadableObject(ValueError):
    """An object that cannot be read at all (``lines``: its data lines, as far as known)."""

    def __init__(self, message: str, lines: int | None = None):
        super().__init__(message)
        self.lines = lines


def gunzip(path: str, data: bytes, count_lines: Callable[[bytes], int] | None = None) -> bytes:
    """Decompress a gzip object, naming it in the error if it is damaged (with ``count_lines``,
    the error carries the data lines of the part that still inflates)."""
    try:
        return _inflate(data)
    except (EOFError, OSError, zlib.error) as exc:
        prefix = _inflatable_prefix(data) if count_lines else None
        lines = count_lines(prefix) if prefix is not None else None
        raise UnreadableObject(f"{path}: unreadable gzip ({exc})", lines) from None


def _inflate(data: bytes) -> bytes:
    """``gzip.decompress(data)``: one zlib call for the usual object (one gzip member, nothing
    after it), a third faster than ``gzip.decompress``'s own header parsing; anything else
    (several members, trailing bytes, damage) goes to ``gzip.decompress``, so results and errors
    are exactly its."""
    try:
        inflater = zlib.decompressobj(wbits=31)
        out = inflater.decompress(data)
        if inflater.eof and not inflater.unused_data:
            return out
    except zlib.error:
        pass
    return gzip.decompress(data)


def _inflatable_prefix(data: bytes) -> bytes | None:
    """What a damaged gzip member still inflates to before the damage (``None``: not gzip, or
    damaged before its first byte of content)."""
    inflater = zlib.decompressobj(wbits=31)
    out = []
    try:
        for i in range(0, len(data), 4096):  # piecewise: keep what inflated before the damage
            out.append(inflater.decompress(data[i:i + 4096]))
    except zlib.error:
        pass
    return b"".join(out) or None


def gunzip_many(items: dict[str, bytes], count_lines: Callable[[bytes], int] | None = None,
                ) -> tuple[dict[str, bytes], list[FileFailure]]:
    """Decompress many objects on a small thread pool (zlib releases the GIL)."""
    ok: dict[str, bytes] = {}
    failures: list[FileFailure] = []

    def some(batch: list[tuple[str, bytes]]) -> list[tuple[str, bytes | Exception]]:
        out = []
        for path, data in batch:
            try:
                out.append((path, gunzip(path, data, count_lines)))
            except UnreadableObject as exc:
                out.append((path, exc))
        return out

    # Whole batches per task: one future per object costs more than inflating a small object.
    pairs = list(items.items())
    batches = [pairs[i:i + GUNZIP_BATCH] for i in range(0, len(pairs), GUNZIP_BATCH)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        for batch in pool.map(some, batches):
            for path, result in batch:
                if isinstance(result, Exception):
                    failures.append(FileFailure(path, str(result), result.lines))
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


# ---------------------------------------------------------------------------------------------
# Framing: data lines, isolation of batched parses, line-by-line fallback
# ---------------------------------------------------------------------------------------------
class Unbalanced(Exception):
    """A batch parse whose rows do not match its objects' lines (the batch is split)."""


def csv_data_lines(body: bytes | memoryview, start: int = 0) -> int:
    """Data lines of a CSV body (the bytes after the header line; with ``start``, the body is
    ``body[start:]``, counted without copying it): lines split at ``\n``, an unterminated last line
    included, empty lines (``""`` or a lone ``"\r"``) excluded, as a CSV parser skips them.
    Whitespace-only lines count (they are malformed records)."""
    data = body if isinstance(body, bytes) else bytes(body)
    if len(data) <= start:
        return 0
    if data.find(b"\r", start) == -1 and data.find(b"\n\n", start) == -1 and not data.startswith(b"\n", start):
        return data.count(b"\n", start) + (0 if data.endswith(b"\n") else 1)
    return sum(1 for line in data[start:].split(b"\n") if line not in (b"", b"\r"))


def data_line_list(body: bytes | memoryview) -> list[bytes]:
    """The data lines of a CSV body (as :func:`csv_data_lines` counts them), without line ends."""
    data = body if isinstance(body, bytes) else bytes(body)
    return [line[:-1] if line.endswith(b"\r") else line for line in data.split(b"\n") if line not in (b"", b"\r")]


_JSON_BLANK = b" \t\r"


def ndjson_data_lines(body: bytes) -> int:
    """Data lines of an NDJSON body: lines split at ``\n`` that hold more than JSON whitespace."""
    if not body:
        return 0
    if b"\n\n" not in body and b"\r" not in body and b"\n " not in body and not body.startswith((b"\n", b" ")):
        return body.count(b"\n") + (0 if body.endswith(b"\n") else 1)
    return sum(1 for line in body.split(b"\n") if line.strip(_JSON_BLANK))


def isolate(items: list[T], parse_batch: Callable[[list[T]], R], parse_alone: Callable[[T], R]) -> list[R]:
    """Parse ``items`` in as few batches as possible, each proven consistent by ``parse_batch``
    (which raises :class:`Unbalanced` or a pyarrow error when it is not). A failing batch is split
    in halves, so k bad objects among n cost about k·log2(n) extra parses; a single item that
    still fails goes to ``parse_alone`` (the slow, line-by-line path). Results keep item order."""
    import pyarrow as pa

    out: list[R] = []

    def go(batch: list[T]) -> None:
        if not batch:
            return
        try:
            out.append(parse_batch(batch))
            return
        except (Unbalanced, pa.ArrowException):
            if len(batch) == 1:
                out.append(parse_alone(batch[0]))
                return
        mid = len(batch) // 2
        go(batch[:mid])
        go(batch[mid:])

    go(items)
    return out


def parse_csv_lines(lines: list[bytes], columns: int) -> tuple[list[list[str]], list[tuple[int, str, str]]]:
    """Parse each line alone as one CSV record of ``columns`` fields (the slow path for an object a
    batch parse could not vouch for). Returns the good records and ``(index, text, reason)`` for the
    others: not UTF-8, broken quoting, a line end inside the line, or the wrong number of fields."""
    good: list[list[str]] = []
    bad: list[tuple[int, str, str]] = []
    for i, raw_line in enumerate(lines):
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            bad.append((i, raw_line.decode("utf-8", errors="backslashreplace"), f"malformed line: invalid UTF-8 ({exc.reason})"))
            continue
        if "\r" in text:
            bad.append((i, text, "malformed line: a line end (CR) inside the line"))
            continue
        if text.count('"') % 2:
            bad.append((i, text, "malformed line: unbalanced quote"))
            continue
        try:
            records = list(csv.reader([text], strict=True))
        except csv.Error as exc:
            bad.append((i, text, f"malformed line: {exc}"))
            continue
        fields = records[0] if records else []
        if len(records) != 1 or len(fields) != columns:
            bad.append((i, text, f"malformed line: {len(fields)} fields, expected {columns}"))
            continue
        good.append(fields)
    return good, bad


def count_by(values: Iterable[str]) -> dict[str, int]:
    return dict(Counter(values))


def _file_counts(frame: "pd.DataFrame | None", objects: dict[str, int] | None = None) -> dict[str, int]:
    """Rows per ``file`` of a frame; a ``path:line`` file (a quarantined NDJSON line) counts for
    ``path`` when ``path`` is one of ``objects``."""
    if frame is None or not len(frame) or "file" not in frame:
        return {}
    counts = frame["file"].value_counts(sort=False)
    out: dict[str, int] = {}
    for f, n in counts.items():
        f = str(f)
        if objects is not None and f not in objects and ":" in f and f.rsplit(":", 1)[0] in objects:
            f = f.rsplit(":", 1)[0]
        out[f] = out.get(f, 0) + int(n)
    return out
