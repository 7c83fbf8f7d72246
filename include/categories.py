"""EPA AQI categories: names, ranges, colours and health messages. Pure Python (no numpy), so
the API's cold start stays small; ``include.etl.aqi`` re-exports these for the vectorised code.
Shared by the ETL, the forecast and the API (a bottom-layer module)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class Category:
    name: str
    lower: int
    upper: int
    color: str
    health_effects: str  # what the level means (AirNow "AQI Basics")
    who_is_concerned: str
    advice_sensitive: str  # cautionary statement for sensitive groups
    advice_general: str  # cautionary statement for everyone else


SENSITIVE_GROUPS = (
    "People with heart or lung disease (including asthma), older adults, children and teenagers, "
    "and people who are active outdoors."
)

# Names, ranges and colours: EPA TAD May 2024. Texts follow AirNow's "AQI Basics" table
# and the cautionary statements of the TAD (written for particle pollution and ozone).
CATEGORIES: tuple[Category, ...] = (
    Category(
        "Good", 0, 50, "#00E400",
        "Air quality is satisfactory, and air pollution poses little or no risk.",
        "No one.",
        "None. It's a great day to be active outside.",
        "None. It's a great day to be active outside.",
    ),
    Category(
        "Moderate", 51, 100, "#FFFF00",
        "Air quality is acceptable. However, there may be a risk for some people, particularly those "
        "who are unusually sensitive to air pollution.",
        "People who are unusually sensitive to air pollution.",
        "Unusually sensitive people: consider making outdoor activities shorter and less intense. "
        "Watch for symptoms such as coughing or shortness of breath; they are signs to take it easier.",
        "It's a good day to be active outside.",
    ),
    Category(
        "Unhealthy for Sensitive Groups", 101, 150, "#FF7E00",
        "Members of sensitive groups may experience health effects. The general public is less likely "
        "to be affected.",
        SENSITIVE_GROUPS,
        "Reduce prolonged or heavy outdoor exertion: take more breaks and do less intense activities. "
        "Watch for symptoms such as coughing or shortness of breath. People with asthma should follow "
        "their asthma action plans and keep quick-relief medicine handy.",
        "It's OK to be active outside.",
    ),
    Category(
        "Unhealthy", 151, 200, "#FF0000",
        "Some members of the general public may experience health effects; members of sensitive "
        "groups may experience more serious health effects.",
        "Everyone.",
        "Avoid prolonged or heavy outdoor exertion. Consider moving activities indoors or "
        "rescheduling them.",
        "Reduce prolonged or heavy outdoor exertion. Take more breaks during outdoor activities.",
    ),
    Category(
        "Very Unhealthy", 201, 300, "#8F3F97",
        "Health alert: the risk of health effects is increased for everyone.",
        "Everyone.",
        "Avoid all physical activity outdoors. Move activities indoors or reschedule them to a time "
        "when air quality is better.",
        "Avoid prolonged or heavy outdoor exertion. Consider moving activities indoors or "
        "rescheduling them.",
    ),
    Category(
        "Hazardous", 301, 500, "#7E0023",
        "Health warning of emergency conditions: everyone is more likely to be affected.",
        "Everyone.",
        "Remain indoors and keep activity levels low.",
        "Avoid all physical activity outdoors.",
    ),
)



def category_info(aqi: float) -> dict:
    """Everything about the category of one AQI value: name, range, colour, health texts.
    AQI values are integers; anything above 50 is past Good, above 500 stays Hazardous."""
    if aqi is None or (isinstance(aqi, float) and math.isnan(aqi)):
        raise ValueError(f"category_info needs one AQI value, got {aqi!r}")
    for c in CATEGORIES[:-1]:
        if aqi <= c.upper:
            return asdict(c)
    return asdict(CATEGORIES[-1])


# ---- every scale's levels (pure Python: the API names and colours a value of any scale) --------

#: Index ranges and colours of each scale's levels, lowest first: (lower, upper or None, colour).
#: The official names and health texts, in every language, are in ``include.serving.i18n``; the
#: English names here are the keys the curated ``aqi_<scale>_category`` columns hold.
SCALE_LEVELS: dict[str, tuple[tuple[str, int, int | None, str], ...]] = {
    "us": tuple((c.name, c.lower, c.upper if i < len(CATEGORIES) - 1 else None, c.color)
                for i, c in enumerate(CATEGORIES)),
    # HJ 633-2012 Table 2 (一级..六级: 优, 良, 轻度污染, 中度污染, 重度污染, 严重污染) and its colours.
    "cn": (("Excellent", 0, 50, "#00E400"), ("Good", 51, 100, "#FFFF00"),
           ("Lightly Polluted", 101, 150, "#FF7E00"), ("Moderately Polluted", 151, 200, "#FF0000"),
           ("Heavily Polluted", 201, 300, "#99004C"), ("Severely Polluted", 301, None, "#7E0023")),
    # CPCB National AQI (2014): names and the colours of CPCB's bulletins.
    "in": (("Good", 0, 50, "#00B050"), ("Satisfactory", 51, 100, "#92D050"),
           ("Moderate", 101, 200, "#FFFF00"),  # "Moderately polluted" in the 2014 report
           ("Poor", 201, 300, "#FF9900"), ("Very Poor", 301, 400, "#FF0000"), ("Severe", 401, None, "#C00000")),
}
SCALE_CODES = tuple(SCALE_LEVELS)
#: The national scale of a country (ISO 3166 alpha-2), where aqicast has one; every other city: "us".
NATIONAL_SCALE = {"CN": "cn", "IN": "in"}


def scale_for_country(country: str | None) -> str:
    return NATIONAL_SCALE.get(country.upper(), "us") if isinstance(country, str) else "us"


def level_of(scale: str, index: float) -> int:
    """0-based level of an (integer) index on ``scale``; the top level is open-ended."""
    if index is None or (isinstance(index, float) and math.isnan(index)):
        raise ValueError(f"level_of needs one index value, got {index!r}")
    levels = SCALE_LEVELS[scale]
    for i, (_, _, upper, _) in enumerate(levels[:-1]):
        if index <= upper:
            return i
    return len(levels) - 1
