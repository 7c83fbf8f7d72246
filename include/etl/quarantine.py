"""Rejected rows: every row a reader or a rule refuses is kept with the reason, never dropped.

Quarantine tables share one schema across sources so one query (or one expectation) reads them
all: ``source, file, record, reason``. ``record`` is the row as it came in (the raw text line
for an unparseable line, else the parsed fields as JSON).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

COLUMNS = ["source", "file", "record", "reason"]
#: Longest raw line kept in a quarantine record: a 10 MB garbage line is named (file, reason) and
#: its head kept, not copied whole into the lake (the raw object keeps all of it).
MAX_RECORD_CHARS = 10_000
NO_REASON = "rejected by a rule (its reason quoted a missing field)"


def empty() -> "pd.DataFrame":
    import pandas as pd

    return pd.DataFrame({c: pd.Series(dtype="str") for c in COLUMNS})


def from_lines(source: str, rows: Iterable[tuple[str, str, str]]) -> "pd.DataFrame":
    """Quarantine rows from ``(file, raw_text, reason)`` triples (e.g. malformed lines)."""
    import pandas as pd

    rows = [(f, _capped(t), r) for f, t, r in rows]
    if not rows:
        return empty()
    df = pd.DataFrame(rows, columns=["file", "record", "reason"])
    df.insert(0, "source", source)
    return df.astype("str")


def _capped(text: str) -> str:
    if len(text) <= MAX_RECORD_CHARS:
        return text
    return f"{text[:MAX_RECORD_CHARS]}... [{len(text)} characters in all]"


def from_frame(source: str, df: "pd.DataFrame", reason: "pd.Series | str", record_columns: list[str]) -> "pd.DataFrame":
    """Quarantine rows of a parsed frame; the record is the original fields as one JSON object."""
    import pandas as pd

    if df.empty:
        return empty()
    records = df[record_columns].to_json(orient="records", lines=True, force_ascii=False).splitlines()
    out = pd.DataFrame(
        {
            "source": source,
            "file": df["file"].astype("str").to_numpy() if "file" in df else "",
            "record": records,
            # A reason built from a missing field would be null: a quarantine row always has one.
            "reason": reason if isinstance(reason, str) else reason.fillna(NO_REASON).astype("str").to_numpy(),
        }
    )
    return out.astype("str")


def concat(frames: list["pd.DataFrame"]) -> "pd.DataFrame":
    import pandas as pd

    frames = [f for f in frames if f is not None and len(f)]
    return pd.concat(frames, ignore_index=True) if frames else empty()
