"""Text keys shared by the ETL (gazetteer matching) and the API (city search). Pure Python."""
from __future__ import annotations

import unicodedata


def fold(name) -> str:
    """Case- and accent-insensitive key: 'Bengaluru' == 'bengaluru', 'Zürich' == 'zurich'."""
    text = unicodedata.normalize("NFKD", str(name or "")).encode("ascii", "ignore").decode()
    return " ".join(text.casefold().split())


def search_key(name) -> str:
    """City-search key that keeps every script: case-folded, NFKC, accents dropped from Latin,
    Greek and Cyrillic letters only ('São Paulo' == 'sao paulo', 'Pékin' == 'pekin', '北京' and
    'मुंबई' unchanged, since their marks are part of the letters), hyphens, dots and apostrophes as
    spaces, whitespace collapsed."""
    out, base = [], ""
    for ch in unicodedata.normalize("NFKD", str(name or "")):
        if unicodedata.combining(ch):
            if base and base < "\u0530":  # Latin, Greek, Cyrillic: the accent goes
                continue
        else:
            base = ch
        out.append(ch)
    text = unicodedata.normalize("NFKC", "".join(out)).casefold()
    text = text.translate(_SEPARATORS)
    return " ".join(text.split())


_SEPARATORS = str.maketrans({c: " " for c in "-‐‑–—.'’‘`ʻʼ,()"})
