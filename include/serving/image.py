"""The share image: a 1080x1080 PNG card with tomorrow's AQI for one city.

Layout (top to bottom): a header on the background (label, city name, place and forecast date),
then a white rounded card with the AQI badge (the number on its EPA category colour), the category
name and dominant pollutant, the health advice, and a bar chart of the last 7 days plus the
forecast day. The background is either a gradient in the category's colour family or an
illustration (e.g. from an image model) scaled to cover, blurred and darkened; all text is drawn
here, never by the image model.

City names come in many scripts. Fonts are Noto subsets shipped in ``fonts/`` (see
``fonts/build_fonts.py``): Latin/Greek/Cyrillic, CJK (common hanzi, kanji, hangul, kana) and the
main Indic, Thai, Hebrew, Arabic, Georgian and Armenian scripts. A name is drawn in the first font
that has a glyph for every character (checked by comparing each rendered glyph with the font's
.notdef box), otherwise the ASCII name is drawn: never a tofu box. Scripts that need shaping or
right-to-left layout are only used when Pillow has libraqm (and FriBiDi for right-to-left).

Languages (``lang``: en, zh-Hans, es; words from ``include.serving.i18n``): labels, date, category
name and health advice are drawn in the language's text font (Noto Sans for English and Spanish,
the CJK subset for Chinese, which also has ASCII); Chinese lines wrap between characters. The scale
(``scale``: us, cn, in) gives the number's category, colours and badge label.

Rendering is deterministic (same inputs, same Pillow: same bytes) and takes well under 300 ms.
"""
from __future__ import annotations

import datetime as dt
import functools
import io
import math
import re
import unicodedata
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont, ImageOps, features

from include.categories import SCALE_LEVELS, level_of
from include.serving import i18n

SIZE = 1080
MARGIN = 60
FONT_DIR = Path(__file__).resolve().parent / "fonts"

LATIN_BOLD = FONT_DIR / "NotoSans-Bold.subset.ttf"
LATIN_REGULAR = FONT_DIR / "NotoSans-Regular.subset.ttf"
CJK_BOLD = FONT_DIR / "NotoSansCJKsc-Bold.subset.otf"
# Fonts tried in order for a place name; those in _SHAPED need libraqm, those in _RTL FriBiDi too.
_SCRIPT_FONTS = ("Devanagari", "Bengali", "Gurmukhi", "Gujarati", "Tamil", "Telugu", "Kannada",
                 "Malayalam", "Thai", "Hebrew", "Arabic", "Georgian", "Armenian")
NAME_FONTS: tuple[Path, ...] = (LATIN_BOLD, CJK_BOLD) + tuple(
    FONT_DIR / f"NotoSans{s}-Bold.subset.ttf" for s in _SCRIPT_FONTS)
_SHAPED = {FONT_DIR / f"NotoSans{s}-Bold.subset.ttf"
           for s in _SCRIPT_FONTS if s not in ("Georgian", "Armenian")}
_RTL = {FONT_DIR / "NotoSansHebrew-Bold.subset.ttf", FONT_DIR / "NotoSansArabic-Bold.subset.ttf"}

# Card and badge geometry (the badge is the big-number region, filled with the category colour).
CARD_BOX = (MARGIN, 272, SIZE - MARGIN, SIZE - MARGIN)
CARD_PAD = 48
BADGE_W, BADGE_H = 300, 256
AQI_BADGE_BOX = (CARD_BOX[0] + CARD_PAD, CARD_BOX[1] + CARD_PAD,
                 CARD_BOX[0] + CARD_PAD + BADGE_W, CARD_BOX[1] + CARD_PAD + BADGE_H)
CHART_BOX = (CARD_BOX[0] + CARD_PAD, 776, CARD_BOX[2] - CARD_PAD, CARD_BOX[3] - 34)

INK = (17, 24, 39)  # near-black for text on light surfaces
MUTED = (100, 108, 122)
WHITE = (255, 255, 255)
PANEL = (243, 244, 246)

#: Text fonts of each language: (bold, regular).
TEXT_FONTS = {"en": (LATIN_BOLD, LATIN_REGULAR), "es": (LATIN_BOLD, LATIN_REGULAR), "zh-Hans": (CJK_BOLD, CJK_BOLD)}
_CJK_RE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef\u3000-\u303f]")
_POLLUTANTS = {"pm25": "PM2.5", "pm10": "PM10", "o3": "O₃", "o38h": "O₃", "o31h": "O₃",
               "no2": "NO₂", "so2": "SO₂", "co": "CO"}


# --- colours ---------------------------------------------------------------------------------------

def hex_rgb(color: str) -> tuple[int, int, int]:
    c = color.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


def _luminance(rgb) -> float:
    """WCAG relative luminance of an sRGB colour."""
    def lin(v):
        v = v / 255
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4
    r, g, b = rgb[:3]
    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def _contrast(a, b) -> float:
    la, lb = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


def text_color_on(background) -> tuple[int, int, int]:
    """INK or WHITE, whichever contrasts more with `background` (yellow gets ink, purple white)."""
    return INK if _contrast(INK, background) >= _contrast(WHITE, background) else WHITE


def _mix(a, b, t: float) -> tuple[int, int, int]:
    """a*(1-t) + b*t, per channel."""
    return tuple(int(round(x + (y - x) * t)) for x, y in zip(a[:3], b[:3]))


# --- fonts and scripts ----------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _shaping() -> tuple[bool, bool]:
    """(libraqm available, FriBiDi available) in this Pillow."""
    return bool(features.check("raqm")), bool(features.check("fribidi"))


@functools.lru_cache(maxsize=256)
def font(path: Path | str, size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(path), size)


_PROBE = 48
_ABSENT = "\U0010FFFD"  # plane-16 private use: in none of the fonts, so it renders as .notdef


@functools.lru_cache(maxsize=None)
def _notdef(path: Path) -> tuple:
    m = font(path, _PROBE).getmask(_ABSENT)
    return m.size, bytes(m)


@functools.lru_cache(maxsize=8192)
def has_glyph(path: Path, ch: str) -> bool:
    """True when the font at `path` has a glyph for `ch` (its rendering is not the .notdef box)."""
    m = font(path, _PROBE).getmask(ch)
    return (m.size, bytes(m)) != _notdef(path)


def _ignorable(ch: str) -> bool:
    return unicodedata.category(ch) == "Cf"  # ZWJ, ZWNJ, bidi marks: invisible when supported


def _usable(path: Path) -> bool:
    raqm, fribidi = _shaping()
    return (path not in _SHAPED or raqm) and (path not in _RTL or (raqm and fribidi))


def pick_font(text: str, fonts=NAME_FONTS) -> tuple[Path, str] | None:
    """The first usable font with a glyph for every visible character of `text`, and the text
    without the invisible format characters that font lacks; None if no font covers it."""
    text = unicodedata.normalize("NFC", text)
    for path in fonts:
        if not _usable(path):
            continue
        kept = []
        for ch in text:
            if ch.isspace() or has_glyph(path, ch):
                kept.append(ch)
            elif not _ignorable(ch):
                break
        else:
            return path, "".join(kept)
    return None


def _ascii(text: str | None) -> str:
    folded = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    return " ".join(folded.split())


def place_name(city: str, ascii_city: str | None) -> tuple[Path, str]:
    """Font and text for the city name: the name itself when a shipped font covers its script,
    else `ascii_city`, else the ASCII letters of the name (never tofu)."""
    for candidate in (city, ascii_city, _ascii(city), _ascii(ascii_city)):
        if candidate and candidate.strip():
            picked = pick_font(" ".join(candidate.split()))
            if picked:
                return picked
    return LATIN_BOLD, ""


# --- text helpers ---------------------------------------------------------------------------------

def _fit(path: Path, text: str, width: int, largest: int, smallest: int):
    """The largest size (down to `smallest`) at which `text` fits `width`; below that, ellipsis."""
    for size in range(largest, smallest - 1, -2):
        f = font(path, size)
        if f.getlength(text) <= width:
            return f, text
    f = font(path, smallest)
    while text and f.getlength(text + "…") > width:
        text = text[:-1].rstrip()
    return f, text + "…"


def _wrap(f: ImageFont.FreeTypeFont, text: str, width: int, max_lines: int) -> list[str]:
    """Lines of at most ``width``: between words, or between characters for Chinese text."""
    cjk = bool(_CJK_RE.search(text))
    words, lines, line = (list(text.replace(" ", "")) if cjk else text.split()), [], ""
    sep = "" if cjk else " "
    for i, word in enumerate(words):
        trial = f"{line}{sep}{word}".strip()
        if f.getlength(trial) <= width or not line:
            line = trial
            continue
        lines.append(line)
        line = word
        if len(lines) == max_lines:
            line = sep.join([lines.pop(), *words[i:]])
            break
    lines.append(line)
    last = lines[-1]
    if f.getlength(last) > width:
        while last and f.getlength(last + "…") > width:
            last = last[:-1].rstrip()
        lines[-1] = last.rstrip(",;:") + "…"
    return lines


def _wrap_fit(path: Path, text: str, width: int, max_lines: int, largest: int, smallest: int):
    for size in range(largest, smallest - 1, -2):
        f = font(path, size)
        lines = _wrap(f, text, width, max_lines)
        if not lines[-1].endswith("…") or size == smallest:
            return f, lines
    raise AssertionError("unreachable")


def _tracked(draw: ImageDraw.ImageDraw, xy, text: str, f, fill, tracking: float):
    """Letter-spaced text (for small caps labels); returns the end x."""
    x, y = xy
    for ch in text:
        draw.text((x, y), ch, font=f, fill=fill)
        x += f.getlength(ch) + tracking
    return x - tracking


def format_date(day: dt.date, lang: str = "en") -> str:
    return i18n.format_date(day, lang)


def pollutant_label(dominant: str | None) -> str | None:
    """Display name of a pollutant code ("pm25" -> "PM2.5", "o3_8h" -> "O₃"); other strings as
    given when the font can draw them (at most 16 characters), else None."""
    if dominant is None or not str(dominant).strip():
        return None
    if "," in str(dominant):  # HJ 633's tied primary pollutants: "pm25,pm10"
        labels = [pollutant_label(p) for p in str(dominant).split(",")]
        return ", ".join(x for x in labels if x) or None
    key = re.sub(r"[^a-z0-9]", "", str(dominant).lower())
    if key in _POLLUTANTS:
        return _POLLUTANTS[key]
    picked = pick_font(" ".join(str(dominant).split())[:16], (LATIN_BOLD,))
    return picked[1] if picked else None


def _first_sentence(text: str) -> str:
    m = re.match(r"(.+?(?:[.!?](?=\s|$)|。))", text.strip())
    return m.group(1) if m else text.strip()


_NONE = re.compile(r"^(None\.|Ninguna\.|无。)\s*")


def advice(info: dict, lang: str = "en") -> tuple[str, str | None]:
    """(advice for everyone, advice for sensitive groups or None when it is the same) of a level
    (``i18n.level_text``, or ``category_info``'s EPA dict). A scale without advice (CPCB) gives
    its health effects; HJ 633 its advice, then its health effects."""
    if "advice_general" in info:  # include.categories.category_info
        info = {"general": info["advice_general"], "sensitive_groups": info["advice_sensitive"],
                "effects": info["health_effects"]}
    if not info.get("general"):
        return info.get("effects") or "", None
    general = _first_sentence(_NONE.sub("", info["general"]))
    sensitive = info.get("sensitive_groups")
    if not sensitive:
        return general, info.get("effects")
    if sensitive == info["general"]:
        return general, None
    who, text = i18n.UI[lang]["sensitive_prefix"], sensitive
    m = re.match(r"([A-Z][a-z ]+ people|Personas [a-z ]+): (.*)", text)
    if m:
        who, text = m.group(1), m.group(2)
    text = re.split(r":\s", _first_sentence(text))[0].rstrip(".") + "."
    return general, f"{who}: {text[0].upper()}{text[1:]}"


# --- background -----------------------------------------------------------------------------------

@functools.lru_cache(maxsize=None)
def _masks() -> dict[str, Image.Image]:
    """Constant masks (cached; never drawn on): diagonal ramp, top-right glow, top-heavy shade."""
    ramp = Image.linear_gradient("L").resize((SIZE, SIZE))  # 0 at the top, 255 at the bottom
    diag = Image.blend(ramp, ramp.transpose(Image.Transpose.TRANSPOSE), 0.5)  # 0 top left, 255 bottom right
    glow = Image.new("L", (SIZE // 8, SIZE // 8), 0)
    ImageDraw.Draw(glow).ellipse((70, -50, 190, 70), fill=110)
    glow = glow.filter(ImageFilter.GaussianBlur(16)).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    shade = ramp.point(lambda v: int(150 - 60 * v / 255))  # darker at the top, behind the header
    return {"diag": diag, "glow": glow, "shade": shade}


def _solid(rgb) -> Image.Image:
    return Image.new("RGB", (SIZE, SIZE), tuple(rgb))


def _gradient_background(rgb) -> Image.Image:
    """Diagonal gradient: light tints of the category colour, deep shades for the dark ones
    (purple, maroon), with a soft light from the top right."""
    if _luminance(rgb) < 0.15:
        c0, c1, light = _mix(rgb, WHITE, 0.12), _mix(rgb, (0, 0, 0), 0.55), _mix(rgb, WHITE, 0.3)
    else:
        c0, c1, light = _mix(rgb, WHITE, 0.84), _mix(rgb, WHITE, 0.40), WHITE
    m = _masks()
    img = Image.composite(_solid(c1), _solid(c0), m["diag"])
    return Image.composite(_solid(light), img, m["glow"])


def _illustration_background(background: Image.Image | bytes) -> Image.Image:
    """The illustration scaled and cropped to cover the square, blurred a little and darkened."""
    if isinstance(background, (bytes, bytearray, memoryview)):
        background = Image.open(io.BytesIO(bytes(background)))
        background.draft("RGB", (SIZE, SIZE))  # JPEG: decode at reduced scale when it is large
    img = ImageOps.exif_transpose(background)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        flat = Image.new("RGBA", img.size, (0, 0, 0, 255))
        flat.alpha_composite(img)
        img = flat
    img = img.convert("RGB")
    w, h = img.size
    side = min(w, h)
    box = ((w - side) / 2, (h - side) / 2, (w + side) / 2, (h + side) / 2)  # centred square crop
    half = SIZE // 2  # blurred anyway: work at half size, then scale up smoothly
    img = img.resize((half, half), Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    img = img.filter(ImageFilter.GaussianBlur(2)).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    return Image.composite(_solid((8, 10, 16)), img, _masks()["shade"])


# --- drawing --------------------------------------------------------------------------------------

def _shadow(img: Image.Image, box, radius: int, opacity: int):
    """A soft drop shadow under `box` (drawn at quarter size, blurred, scaled up: fast)."""
    q = 4
    mask = Image.new("L", (SIZE // q, SIZE // q), 0)
    x0, y0, x1, y1 = (v // q for v in box)
    ImageDraw.Draw(mask).rounded_rectangle((x0, y0 + 4, x1, y1 + 4), radius // q, fill=opacity)
    mask = mask.filter(ImageFilter.GaussianBlur(6)).resize((SIZE, SIZE), Image.Resampling.BICUBIC)
    img.paste(Image.new("RGB", (SIZE, SIZE), (15, 20, 30)), (0, 0), mask)


def _draw_header(draw, *, name_font: Path, name: str, subtitle: str, ink, lang: str = "en",
                 subtitle_font: Path = LATIN_REGULAR):
    x = MARGIN + 4
    soft = _mix(ink, (127, 127, 127), 0.3)
    _tracked(draw, (x, MARGIN), i18n.UI[lang]["header_label"], font(TEXT_FONTS[lang][0], 24), soft, 3.0)
    width = SIZE - 2 * MARGIN - 8
    if name:
        f, text = _fit(name_font, name, width, 92, 52)
        # Baseline at a fixed height so that every script sits on the same line.
        draw.text((x, 178), text, font=f, fill=ink, anchor="ls")
    f, text = _fit(subtitle_font, subtitle, width, 30, 22)
    draw.text((x, 234), text, font=f, fill=soft, anchor="ls")


def _draw_badge(draw, aqi: int, rgb, label: str = "US AQI", lang: str = "en"):
    x0, y0, x1, y1 = AQI_BADGE_BOX
    draw.rounded_rectangle(AQI_BADGE_BOX, 36, fill=rgb)
    fg = text_color_on(rgb)
    label_font = font(TEXT_FONTS[lang][0], 24)
    lw = label_font.getlength(label) + 2.5 * (len(label) - 1)
    _tracked(draw, ((x0 + x1 - lw) / 2, y0 + 26), label, label_font, _mix(fg, rgb, 0.25), 2.5)
    number = str(aqi)
    f, _ = _fit(LATIN_BOLD, number, BADGE_W - 70, 150, 60)
    l, t, r, b = draw.textbbox((0, 0), number, font=f, anchor="ls")
    cx, cy = (x0 + x1) / 2, y0 + 50 + (BADGE_H - 50) / 2 - 4
    draw.text((cx - (l + r) / 2, cy - (t + b) / 2), number, font=f, fill=fg, anchor="ls")


def _draw_summary(draw, info: dict, dominant: str | None, lang: str = "en"):
    bold_path, regular_path = TEXT_FONTS[lang]
    x = AQI_BADGE_BOX[2] + 44
    width = CARD_BOX[2] - CARD_PAD - x
    top = AQI_BADGE_BOX[1]
    f, lines = _wrap_fit(bold_path, info["name"], width, 2, 54, 40)
    step = int(f.size * 1.16)
    label_h, pill_h = 34, 58
    block = label_h + step * len(lines) + (24 + pill_h if dominant else 0)
    y = top + (BADGE_H - block) // 2  # centred on the badge
    _tracked(draw, (x, y), i18n.UI[lang]["category_label"], font(bold_path, 20), MUTED, 2.5)
    y += label_h
    for line in lines:
        draw.text((x, y + int(f.size * 0.9)), line, font=f, fill=INK, anchor="ls")
        y += step
    if dominant:
        y += 24
        small, bold = font(regular_path, 25), font(LATIN_BOLD, 27)
        label = i18n.UI[lang]["main_pollutant"]
        w = small.getlength(label) + 12 + bold.getlength(dominant)
        draw.rounded_rectangle((x, y, x + w + 44, y + pill_h), pill_h // 2, fill=PANEL)
        draw.text((x + 22, y + pill_h / 2), label, font=small, fill=MUTED, anchor="lm")
        draw.text((x + 22 + small.getlength(label) + 12, y + pill_h / 2), dominant, font=bold, fill=INK,
                  anchor="lm")


def _draw_advice(draw, info: dict, lang: str = "en"):
    general, sensitive = advice(info, lang)
    bold_path, regular_path = TEXT_FONTS[lang]
    x0, x1 = CARD_BOX[0] + CARD_PAD, CARD_BOX[2] - CARD_PAD
    blocks = [(_wrap_fit(bold_path, general, x1 - x0, 2, 32, 26), INK, 1.32)]
    if sensitive:
        blocks.append((_wrap_fit(regular_path, sensitive, x1 - x0, 2, 26, 22), MUTED, 1.36))
    height = sum(int(f.size * k) * len(lines) for (f, lines), _, k in blocks) + 10 * (len(blocks) - 1)
    # Centred between the badge and the chart.
    top, bottom = AQI_BADGE_BOX[3] + 24, CHART_BOX[1] - 30
    y = top + max(0, (bottom - top - height) // 2)
    for (f, lines), fill, k in blocks:
        for line in lines:
            draw.text((x0, y + int(f.size * 0.98)), line, font=f, fill=fill, anchor="ls")
            y += int(f.size * k)
        y += 10


def chart_series(day: dt.date, aqi: int, history) -> list[tuple[dt.date, float | None, bool]]:
    """The 7 days before `day` (value or None) and `day` itself (the forecast): (date, aqi, forecast)."""
    known = {}
    for d, v in history or ():
        if isinstance(d, dt.datetime):  # also pandas Timestamps
            d = d.date()
        if v is not None and not math.isnan(float(v)):
            known[d] = float(v)
    days = [day - dt.timedelta(days=k) for k in range(7, 0, -1)]
    return [(d, known.get(d), False) for d in days] + [(day, float(aqi), True)]


def _draw_chart(draw, series, scale: str = "us", lang: str = "en"):
    bold_path, regular_path = TEXT_FONTS[lang]
    ui = i18n.UI[lang]
    x0, y0, x1, y1 = CHART_BOX
    label_f, value_f, day_f = font(bold_path, 18), font(LATIN_BOLD, 24), font(regular_path, 22)
    slot = (x1 - x0) / len(series)
    bar_w = int(slot * 0.58)
    base = y1 - 38  # bars stand on this line; weekday labels below
    top = y0 + 40  # the highest bar reaches this
    values = [v for _, v, _ in series if v is not None]
    scale_max = max(100.0, math.ceil(max(values) / 50.0) * 50.0)
    # Forecast slot: a light panel with its label; the past days get theirs on the left.
    fx = x0 + slot * (len(series) - 1)
    draw.rounded_rectangle((fx + 2, y0 - 10, x1 + 10, y1 + 10), 22, fill=PANEL)
    fl = ui["forecast_label"]
    fl_f = label_f
    for size in range(18, 11, -1):  # long words (PRONÓSTICO) shrink to their slot
        fl_f = font(bold_path, size)
        if fl_f.getlength(fl) + 1.5 * (len(fl) - 1) <= slot - 14:
            break
    fw = fl_f.getlength(fl) + 1.5 * (len(fl) - 1)
    _tracked(draw, (fx + 6 + (slot - fw) / 2, y0), fl, fl_f, MUTED, 1.5)
    _tracked(draw, (x0, y0), ui["last_7_days"], label_f, MUTED, 2.5)
    draw.line((x0, base, fx - 12, base), fill=(225, 228, 233), width=2)
    for i, (d, v, forecast) in enumerate(series):
        cx = x0 + slot * i + slot / 2 + (4 if forecast else 0)
        name = i18n.WEEKDAYS_SHORT[lang][d.weekday()]
        draw.text((cx, y1), name, font=font(bold_path, 22) if forecast else day_f,
                  fill=INK if forecast else MUTED, anchor="ms")
        if v is None:
            draw.rounded_rectangle((cx - bar_w / 2, base - 8, cx + bar_w / 2, base), 4, fill=(229, 231, 235))
            draw.text((cx, base - 18), ui["na"], font=font(regular_path, 20), fill=MUTED, anchor="ms")
            continue
        rgb = hex_rgb(SCALE_LEVELS[scale][level_of(scale, max(round(v), 0))][3])
        h = max(10, round((base - top) * min(v, scale_max) / scale_max))
        box = (cx - bar_w / 2, base - h, cx + bar_w / 2, base)
        draw.rounded_rectangle(box, 10, fill=rgb, outline=INK if forecast else _mix(rgb, (0, 0, 0), 0.15),
                               width=3 if forecast else 2)
        text = str(int(round(v)))
        if h >= 56:  # the value inside the top of its bar
            draw.text((cx, base - h + 32), text, font=value_f, fill=text_color_on(rgb), anchor="ms")
        else:
            draw.text((cx, base - h - 10), text, font=value_f, fill=INK, anchor="ms")


def render_share_image(*, city: str, country: str | None, day: dt.date, aqi: int, dominant: str | None,
                       history: list[tuple[dt.date, float | None]],
                       background: Image.Image | bytes | None = None,
                       ascii_city: str | None = None, scale: str = "us", lang: str = "en") -> bytes:
    """PNG bytes of the 1080x1080 share card for `city` on `day` (the forecast day) at `aqi`.

    history: (date, AQI or None) of past days; the 7 days before `day` are charted with the
    forecast. background: an optional illustration (PIL image or encoded bytes) drawn behind the
    card instead of the gradient. ascii_city: the name in Latin letters, drawn when no shipped font
    covers `city` and shown beside a non-Latin name. scale/lang: the index's scale ("us", "cn",
    "in") and the language of every word on the card ("en", "zh-Hans", "es").
    """
    if isinstance(day, dt.datetime):
        day = day.date()
    aqi = max(0, int(round(float(aqi))))
    info = i18n.level_text(scale, aqi, lang)
    rgb = hex_rgb(info["color"])

    if background is not None:
        img = _illustration_background(background)
    else:
        img = _gradient_background(rgb)
    header_bg = img.crop((0, 0, SIZE, CARD_BOX[1])).resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))
    ink = text_color_on(header_bg)

    name_font, name = place_name(city, ascii_city)
    place = []  # the Latin name (beside a non-Latin one) and the country, where the font has them
    for part in (ascii_city, country):
        picked = pick_font(" ".join(part.split()), (LATIN_REGULAR,)) if part and part.strip() else None
        if picked and picked[1].casefold() != name.casefold():
            place.append(picked[1])
    if not name and place:  # no drawable city name at all: the country becomes the title
        name_font, name = LATIN_BOLD, place.pop()
    subtitle = "  ·  ".join(p for p in (", ".join(place), format_date(day, lang)) if p)
    sub = pick_font(subtitle, (TEXT_FONTS[lang][1], LATIN_REGULAR))
    if sub is None:  # e.g. an accented Latin name beside a Chinese date: the name in ASCII letters
        subtitle = "  ·  ".join(p for p in (_ascii(", ".join(place)), format_date(day, lang)) if p)
        sub = pick_font(subtitle, (TEXT_FONTS[lang][1],)) or (LATIN_REGULAR, _ascii(subtitle))
    subtitle_font, subtitle = sub

    _shadow(img, CARD_BOX, 44, 110 if background is None else 160)
    draw = ImageDraw.Draw(img)
    draw.rounded_rectangle(CARD_BOX, 44, fill=WHITE)
    _draw_header(draw, name_font=name_font, name=name, subtitle=subtitle, ink=ink, lang=lang,
                 subtitle_font=subtitle_font)
    _draw_badge(draw, aqi, rgb, i18n.SCALE_LABELS[scale][lang], lang)
    _draw_summary(draw, info, pollutant_label(dominant), lang)
    _draw_advice(draw, info, lang)
    _draw_chart(draw, chart_series(day, aqi, history), scale, lang)

    out = io.BytesIO()
    img.save(out, format="PNG", compress_level=6)
    return out.getvalue()


__all__ = ["AQI_BADGE_BOX", "SIZE", "has_glyph", "pick_font", "place_name", "render_share_image",
           "text_color_on"]
