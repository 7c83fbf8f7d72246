"""Raw-object helpers: inflating gzip objects exactly as ``gzip.decompress`` does."""
from __future__ import annotations

import gzip

import pytest

from include.etl.rawio import UnreadableObject, _inflate, gunzip

BODY = b"location_id,sensors_id\n1,2\n" * 50


def _gz(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)  # the same bytes in every process (pytest-xdist collects them)


@pytest.mark.parametrize("data", [
    _gz(BODY),
    _gz(b"a\n") + _gz(b"b\n"),  # two members (a concatenated upload)
    _gz(BODY) + b"\0" * 7,       # zero padding after the member
    b"",
], ids=["one-member", "two-members", "zero-padding", "empty"])
def test_inflate_gives_what_gzip_decompress_gives(data):
    assert _inflate(data) == gzip.decompress(data)


@pytest.mark.parametrize("data", [
    _gz(BODY)[:-9],           # truncated
    _gz(BODY) + b"garbage",   # trailing bytes that are no member
    b"\x1f\x8b\x08\x00broken",
    b"plain text, not gzip",
], ids=["truncated", "trailing-garbage", "broken-header", "not-gzip"])
def test_inflate_fails_as_gzip_decompress_fails(data):
    with pytest.raises(Exception) as expected:
        gzip.decompress(data)
    with pytest.raises(type(expected.value)) as got:
        _inflate(data)
    assert str(got.value) == str(expected.value)
    with pytest.raises(UnreadableObject, match=r"^raw/x\.csv\.gz: unreadable gzip"):
        gunzip("raw/x.csv.gz", data)
