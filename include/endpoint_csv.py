"""The one wire format of the SageMaker endpoint: CSV rows of feature values in the champion's
feature order, one prediction per line back. Used by the batch forecast (many rows) and by the
API's live prediction (one row), so both send exactly the same bytes for the same values.

Pure Python (no pandas): the Lambda imports it.
"""
from __future__ import annotations

import math
from typing import Iterable, Sequence

CONTENT_TYPE = "text/csv"


def _cell(value) -> str:
    if value is None:
        return ""
    number = float(value)
    return "" if math.isnan(number) else repr(number)  # repr: the shortest exact round-trip


def encode_rows(rows: Iterable[Sequence]) -> bytes:
    """``[[1.0, None, 3.5], ...]`` -> ``b"1.0,,3.5\\n..."`` (missing values are empty cells)."""
    return "".join(",".join(_cell(v) for v in row) + "\n" for row in rows).encode()


def decode_predictions(body: bytes | str) -> list[float]:
    """One number per line (the first column if the container returns more)."""
    text = body.decode() if isinstance(body, bytes) else body
    return [float(line.split(",")[0]) for line in text.replace("\r", "").split("\n") if line.strip()]
