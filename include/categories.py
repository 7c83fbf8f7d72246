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
