"""Text keys shared by the ETL (gazetteer matching) and the API (city search). Pure Python."""
from __future__ import annotations

import unicodedata


def fold(name) -> str:
    """Case- and accent-insensitive key: 'Bengaluru' == 'bengaluru', 'Zürich' == 'zurich'."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    return " ".join(text.casefold().split())
