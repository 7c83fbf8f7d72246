"""The share image (include/serving/image.py): size and format, EPA colours, scripts and fonts
without tofu, the illustration background, determinism and speed."""
import datetime as dt
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image, ImageDraw

from include.etl.aqi import CATEGORIES, category_info
from include.serving import image as share
from include.serving.image import AQI_BADGE_BOX, SIZE, render_share_image

DAY = dt.date(2025, 5, 15)
HISTORY = [(DAY - dt.timedelta(days=k), v) for k, v in
           zip(range(7, 0, -1), [42, 55, 61.4, None, 120, 160, 98])]
# One AQI per EPA category, in CATEGORIES order.
CATEGORY_AQI = [25, 75, 125, 175, 250, 400]


def render(**kw) -> bytes:
    args = dict(city="Los Angeles", country="United States", day=DAY, aqi=75, dominant="pm25",
                history=HISTORY)
    args.update(kw)
    return render_share_image(**args)


def load(png: bytes) -> Image.Image:
    img = Image.open(io.BytesIO(png))
    img.load()
    return img


def rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))


def dominant_colour(img: Image.Image, box) -> tuple[tuple[int, int, int], float]:
    """Most common colour in `box` and its share of the pixels."""
    counts = img.convert("RGB").crop(box).getcolors(maxcolors=1 << 24)
    n, colour = max(counts)
    return colour, n / sum(c for c, _ in counts)


@pytest.fixture(scope="module")
def by_category() -> dict[int, bytes]:
    return {aqi: render(aqi=aqi) for aqi in CATEGORY_AQI}


def test_png_1080_square(by_category):
    png = by_category[75]
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    img = load(png)
    assert img.format == "PNG"
    assert img.size == (SIZE, SIZE) == (1080, 1080)
    assert img.mode in ("RGB", "RGBA")


def test_aqi_values_cover_every_category():
    assert [category_info(a)["name"] for a in CATEGORY_AQI] == [c.name for c in CATEGORIES]


@pytest.mark.parametrize("aqi", CATEGORY_AQI)
def test_big_number_region_has_the_epa_colour(by_category, aqi):
    img = load(by_category[aqi])
    colour, share_ = dominant_colour(img, AQI_BADGE_BOX)
    assert colour == rgb(category_info(aqi)["color"])
    assert share_ > 0.5
    # A patch in the badge, left of the number: the colour exactly.
    x0, y0, x1, y1 = AQI_BADGE_BOX
    assert dominant_colour(img, (x0 + 8, (y0 + y1) // 2 - 10, x0 + 20, (y0 + y1) // 2 + 10)) == (colour, 1.0)


@pytest.mark.parametrize("aqi, dark_text", [(25, True), (75, True), (125, True), (175, True),
                                             (250, False), (400, False)])
def test_number_colour_is_picked_by_luminance(by_category, aqi, dark_text):
    """Dark digits on the light badges (yellow above all), white ones on purple and maroon."""
    badge = load(by_category[aqi]).convert("L").crop(AQI_BADGE_BOX)
    lo, hi = badge.getextrema()
    fill = rgb(category_info(aqi)["color"])
    assert share.text_color_on(fill) == (share.INK if dark_text else share.WHITE)
    if dark_text:
        assert lo < 40  # the digits are near black
    else:
        assert hi > 240  # the digits are white


def test_yellow_text_contrast_is_readable():
    yellow = rgb(category_info(75)["color"])
    assert share._contrast(share.text_color_on(yellow), yellow) > 7
    for c in CATEGORIES:  # WCAG AA for large text (the number is ~150 px): 3:1; all but red pass 4.5:1
        fill = rgb(c.color)
        assert share._contrast(share.text_color_on(fill), fill) >= (4.4 if c.name == "Unhealthy" else 4.5)


def test_categories_give_different_images(by_category):
    assert len({hashlib.sha256(p).digest() for p in by_category.values()}) == len(CATEGORY_AQI)


def test_cjk_name_has_real_glyphs_not_tofu():
    path, text = share.place_name("北京", "Beijing")
    assert path == share.CJK_BOLD and text == "北京"
    cjk = share.font(share.CJK_BOLD, 64)
    notdef = cjk.getmask("\U0010FFFD")  # a character no shipped font has: the .notdef box
    for ch in "北京":
        mask = cjk.getmask(ch)
        assert mask.getbbox() is not None  # something is drawn
        assert (mask.size, bytes(mask)) != (notdef.size, bytes(notdef))
        assert share.has_glyph(share.CJK_BOLD, ch)
        assert not share.has_glyph(share.LATIN_BOLD, ch)  # the Latin font would draw tofu
    # Tofu boxes look alike: swapping the characters would not change the picture. Real glyphs do.
    a, b = (load(render(city=name, ascii_city="Beijing")).crop((0, 0, SIZE, 200)) for name in ("北京", "京北"))
    assert a.tobytes() != b.tobytes()


@pytest.mark.parametrize("name, font_name", [
    ("दिल्ली", "NotoSansDevanagari"), ("תל אביב", "NotoSansHebrew"), ("Москва", "NotoSans-Bold"),
    ("서울", "NotoSansCJKsc"), ("東京", "NotoSansCJKsc"), ("臺北", "NotoSansCJKsc"), ("ঢাকা", "NotoSansBengali"),
    ("القاهرة", "NotoSansArabic"), ("กรุงเทพมหานคร", "NotoSansThai"), ("Zürich", "NotoSans-Bold"),
    ("Hà Nội", "NotoSans-Bold"),
])
def test_names_in_many_scripts_get_a_covering_font(name, font_name):
    if not all(share._shaping()):
        pytest.skip("Pillow without libraqm/FriBiDi: complex scripts fall back to ASCII")
    path, text = share.place_name(name, "Fallback")
    assert path.name.startswith(font_name) and text == name


def test_unsupported_script_falls_back_to_the_ascii_name():
    ethiopic = "አዲስ አበባ"  # Addis Ababa: no shipped font has Ethiopic
    assert not any(share.has_glyph(p, "አ") for p in share.NAME_FONTS)
    assert share.place_name(ethiopic, "Addis Ababa") == (share.LATIN_BOLD, "Addis Ababa")
    png = render(city=ethiopic, ascii_city="Addis Ababa", country="Ethiopia")
    assert png == render(city="Addis Ababa", country="Ethiopia")
    # Without an ASCII name the country becomes the title: still no exception, no tofu.
    load(render(city=ethiopic, ascii_city=None, country="Ethiopia"))
    load(render(city=ethiopic, ascii_city=None, country=None))


def test_without_raqm_shaped_scripts_fall_back_to_ascii(monkeypatch):
    monkeypatch.setattr(share, "_shaping", lambda: (False, False))
    assert share.place_name("दिल्ली", "Delhi") == (share.LATIN_BOLD, "Delhi")
    assert share.place_name("תל אביב", "Tel Aviv") == (share.LATIN_BOLD, "Tel Aviv")
    assert share.place_name("北京", "Beijing") == (share.CJK_BOLD, "北京")  # no shaping needed


def test_background_image_is_used(by_category):
    colour = (30, 140, 220)
    bg = Image.new("RGB", (512, 768), colour)
    out = load(render(background=bg))
    assert out.size == (SIZE, SIZE)
    corner = out.convert("RGB").crop((0, 0, 40, 40))
    lo, hi = zip(*corner.getextrema())
    assert max(h - l for l, h in zip(lo, hi)) <= 4  # flat, as the background is
    r, g, b = corner.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    # Darkened towards (8, 10, 16), but the same colour: blue, then green, then red.
    dark = (8, 10, 16)
    k = [(c - d) / (s - d) for c, d, s in zip((r, g, b), dark, colour)]
    assert 0.3 < min(k) and max(k) < 0.9 and max(k) - min(k) < 0.05, k
    assert corner.tobytes() != load(by_category[75]).convert("RGB").crop((0, 0, 40, 40)).tobytes()
    # Encoded bytes (e.g. from Bedrock) and an RGBA image work the same way.
    buf = io.BytesIO()
    bg.save(buf, format="PNG")
    assert render(background=buf.getvalue()) == render(background=bg)
    assert load(render(background=Image.new("RGBA", (300, 200), colour + (255,)))).size == (SIZE, SIZE)


def test_background_is_cropped_to_cover():
    """A tall picture is cropped in the middle, not squashed: its top and bottom bands are cut."""
    bg = Image.new("RGB", (512, 768), (200, 40, 40))
    ImageDraw.Draw(bg).rectangle((0, 128, 511, 639), fill=(40, 200, 40))  # the centre square
    out = load(render(background=bg)).convert("RGB")
    r, g, b = out.getpixel((10, 10))
    assert g > r


def test_deterministic_bytes():
    kw = dict(city="北京", ascii_city="Beijing", country="China", aqi=175)
    first = render(**kw)
    assert render(**kw) == first
    # And in a fresh interpreter (no warm caches, other hash seed).
    code = ("import datetime as dt, hashlib, sys; sys.path.insert(0, '.');"
            "from tests.test_share_image import render;"
            "print(hashlib.sha256(render(city='北京', ascii_city='Beijing', country='China', aqi=175)).hexdigest())")
    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONHASHSEED="123")
    out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == hashlib.sha256(first).hexdigest()


def test_chart_series_calendar():
    series = share.chart_series(DAY, 80, HISTORY + [(DAY, 1.0), (DAY - dt.timedelta(days=30), 5.0)])
    assert [d for d, _, _ in series] == [DAY - dt.timedelta(days=k) for k in range(7, -1, -1)]
    assert [v for _, v, _ in series] == [42, 55, 61.4, None, 120, 160, 98, 80]
    assert [f for _, _, f in series] == [False] * 7 + [True]
    assert share.chart_series(DAY, 10, [])[-1] == (DAY, 10.0, True)
    ts = [(dt.datetime(2025, 5, 14, 0, 0), float("nan")), (dt.datetime(2025, 5, 13), 33)]
    assert [v for _, v, _ in share.chart_series(DAY, 10, ts)][-3:] == [33.0, None, 10.0]


def test_texts():
    assert share.format_date(DAY) == "Thursday, 15 May 2025"
    assert [share.pollutant_label(p) for p in ("pm25", "PM2.5", "pm10", "o3_8h", "no2", "so2", "co", None, " ")] == [
        "PM2.5", "PM2.5", "PM10", "O₃", "NO₂", "SO₂", "CO", None, None]
    assert share.pollutant_label("北京") is None  # not drawable in the label font
    general, sensitive = share.advice(category_info(25))
    assert general == "It's a great day to be active outside." and sensitive is None
    general, sensitive = share.advice(category_info(125))
    assert general == "It's OK to be active outside."
    assert sensitive == "Sensitive groups: Reduce prolonged or heavy outdoor exertion."
    _, sensitive = share.advice(category_info(75))
    assert sensitive == "Unusually sensitive people: Consider making outdoor activities shorter and less intense."


@pytest.mark.parametrize("kw", [
    dict(aqi=0, history=[]),
    dict(aqi=612, dominant="something else entirely", history=[(DAY - dt.timedelta(days=1), 700.0)]),
    dict(aqi=-3, dominant=None, country=None),
    dict(city="Llanfairpwllgwyngyllgogerychwyrndrobwllllantysiliogogogoch", country="United Kingdom"),
    dict(day=dt.datetime(2025, 5, 15, 6, 30)),
])
def test_edge_inputs_render(kw):
    img = load(render(**kw))
    assert img.size == (SIZE, SIZE)


def test_fonts_shipped_small_and_licensed():
    fonts = sorted(p for p in share.FONT_DIR.iterdir() if p.suffix in (".ttf", ".otf"))
    assert {share.LATIN_BOLD, share.LATIN_REGULAR, *share.NAME_FONTS} <= set(fonts)
    assert sum(p.stat().st_size for p in fonts) < 4 * 2**20
    assert "SIL OPEN FONT LICENSE" in (share.FONT_DIR / "OFL.txt").read_text()
