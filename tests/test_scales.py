"""National scales: China (HJ 633-2012) and India (CPCB NAQI), one interface beside the US AQI.

China: vectors worked out by hand from HJ 633-2012 Table 1 (derivations in the comments),
the tables cross-checked with the OpenAQ AQI-hub copy. India: CPCB's own published AQI for every
row of the CPCB city-day file (bench/cpcb_compare.py), plus hand vectors.
"""
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import cpcb_compare
from include.etl.scales import SCALES, scale
from include.etl.scales import china as cn
from include.etl.scales import india as ind
from include.etl.units import from_aqi_units, to_aqi_units

FIXTURES = Path(__file__).parent / "fixtures"


def test_every_scale_has_the_interface():
    for code in SCALES:
        m = scale(code)
        assert m.NAME == code
        for attr in ("POLLUTANTS", "LEVELS", "sub_index", "overall", "category", "from_daily"):
            assert hasattr(m, attr), (code, attr)
    with pytest.raises(ValueError):
        scale("xx")


# ---- China, HJ 633-2012 ----------------------------------------------------------------------

CN_VECTORS = [
    # pollutant, concentration (µg/m³; CO mg/m³), IAQI, derivation: (IAQI_Hi-IAQI_Lo)/(BP_Hi-BP_Lo)*(C-BP_Lo)+IAQI_Lo
    ("pm25", 80, 107),     # (150-100)/(115-75)*(80-75)+100 = 106.25 -> rounded up: 107
    ("pm25", 35, 50),      # at the breakpoint: 50 exactly
    ("pm25", 35.5, 51),    # (100-50)/(75-35)*(35.5-35)+50 = 50.625 -> 51
    ("pm25", 0.1, 1),      # 50/35*0.1 = 0.14 -> 1 (always up)
    ("pm25", 300, 350),    # (400-300)/(350-250)*(300-250)+300 = 350
    ("pm10", 200, 125),    # (150-100)/(250-150)*(200-150)+100 = 125
    ("so2_24h", 100, 75),  # (100-50)/(150-50)*(100-50)+50 = 75
    ("so2_1h", 600, 134),  # (150-100)/(650-500)*(600-500)+100 = 133.33 -> 134
    ("no2_24h", 100, 110),  # (150-100)/(180-80)*(100-80)+100 = 110
    ("no2_1h", 150, 75),   # (100-50)/(200-100)*(150-100)+50 = 75
    ("co_24h", 3, 75),     # (100-50)/(4-2)*(3-2)+50 = 75 (mg/m³)
    ("co_1h", 12, 104),    # (150-100)/(35-10)*(12-10)+100 = 104
    ("o3_8h", 180, 119),   # (150-100)/(215-160)*(180-160)+100 = 118.18 -> 119
    ("o3_1h", 250, 125),   # (150-100)/(300-200)*(250-200)+100 = 125
    ("o3_1h", 900, 350),   # (400-300)/(1000-800)*(900-800)+300 = 350
]


@pytest.mark.parametrize("pollutant, conc, expected", CN_VECTORS, ids=[f"{p}-{c}" for p, c, _ in CN_VECTORS])
def test_china_iaqi_by_hand(pollutant, conc, expected):
    iaqi, capped = cn.sub_index(pollutant, [conc])
    assert iaqi[0] == expected and not capped[0]


def test_china_footnotes_and_top():
    # Table 1 footnotes: O3 8-h above 800 and SO2 1-h above 800 have no IAQI (the other period is used).
    assert np.isnan(cn.sub_index("o3_8h", [801])[0][0]) and cn.sub_index("o3_8h", [800])[0][0] == 300
    assert np.isnan(cn.sub_index("so2_1h", [900])[0][0]) and cn.sub_index("so2_1h", [800])[0][0] == 200
    # above the top of the table (PM2.5 500 -> 500): 500 and capped; missing stays missing
    iaqi, capped = cn.sub_index("pm25", [600, np.nan, -3])
    assert iaqi[0] == 500 and capped[0] and np.isnan(iaqi[1]) and not capped[1] and iaqi[2] == 0


def test_china_primary_pollutant():
    sub = pd.DataFrame({
        "pm25": [107, 45, 107, 60, np.nan],
        "pm10": [107, 30, 80, 60, np.nan],
        "o3_8h": [20, 10, 130, 61, np.nan],
        "o3_1h": [20, 10, 130, 61, np.nan],
    })
    aqi, primary = cn.overall(sub)
    assert aqi.tolist()[:4] == [107, 45, 130, 61] and np.isnan(aqi.iloc[4])
    # ties are all primary; AQI <= 50 has none; O3 1-h and 8-h name "o3" once
    assert primary.tolist() == ["pm25,pm10", None, "o3", "o3", None]


def test_china_levels():
    names = cn.category([0, 50, 51, 100, 101, 150, 151, 200, 201, 300, 301, 500, np.nan])
    assert names.tolist() == ["Excellent", "Excellent", "Good", "Good", "Lightly Polluted", "Lightly Polluted",
                              "Moderately Polluted", "Moderately Polluted", "Heavily Polluted", "Heavily Polluted",
                              "Severely Polluted", "Severely Polluted", None]


@pytest.mark.parametrize("module, name", [(cn, "china"), (ind, "india")])
def test_tables_agree_with_openaq_aqi_hub(module, name):
    """Every upper bound of the AQI-hub table is our breakpoint at that index (units as in our table)."""
    hub = pd.read_csv(FIXTURES / "aqi" / f"openaq_aqi_hub_breakpoints_{name}.csv")
    hub = hub[hub["concentration_upper"].notna() & hub["category_upper"].notna()]
    keys = {("PM2.5", 24): "pm25", ("PM10", 24): "pm10"}
    if module is cn:
        keys |= {(p, h): f"{p.lower()}_{h}h" for p in ("SO2", "NO2", "CO", "O3") for h in (1, 24, 8)}
        levels = cn.IAQI
    else:
        keys |= {("NO2", 24): "no2", ("SO2", 24): "so2", ("NH3", 24): "nh3", ("Pb", 24): "pb",
                 ("CO", 8): "co", ("O3", 8): "o3", ("O3", 1): "o3"}
        levels = ind.INDEX
    checked = 0
    for r in hub.itertuples():
        key = keys.get((r.pollutant, int(r.averaging_period)))
        if key is None or key not in module.BREAKPOINTS:
            continue
        bp = module.BREAKPOINTS[key]
        assert bp[levels.index(int(r.category_upper))] == pytest.approx(float(r.concentration_upper)), r
        checked += 1
    assert checked >= 40


def test_china_from_curated_units():
    # 40 ppb NO2 at 25 °C = 40 * 46.0055 / 24.45 = 75.27 µg/m³ -> (100-50)/(80-40)*(75.27-40)+50 = 94.08 -> 95
    daily = pd.DataFrame({"pm25_mean": [80.0], "pm10_mean": [np.nan], "o3_max8h": [0.05], "o3_max1h": [0.06],
                          "no2_mean": [40.0], "so2_mean": [np.nan], "co_mean": [1.0],
                          "pm25_hours": [20], "no2_hours": [24], "co_hours": [19], "so2_hours": [0],
                          "pm10_hours": [0], "o3_hours": [24]})
    out = cn.from_daily(daily)
    assert out.loc[0, "no2_24h"] == 95
    assert out.loc[0, "pm25"] == 107
    assert np.isnan(out.loc[0, "co_24h"])  # 19 hours < GB 3095's 20
    # O3 0.05 ppm 8-h = 0.05 * 1000 * 48 / 24.45 = 98.16 µg/m³ -> 49.08 -> 50
    assert out.loc[0, "o3_8h"] == 50
    assert out.loc[0, "index"] == 107 and out.loc[0, "dominant"] == "pm25"
    assert out.loc[0, "category"] == "Lightly Polluted"


def test_from_aqi_units_inverts_to_aqi_units():
    assert from_aqi_units("no2", 100.0, "µg/m³") == pytest.approx(100 * 46.0055 / 24.45)
    assert from_aqi_units("co", 1.0, "mg/m³") == pytest.approx(28.010 / 24.45)
    for p, u in [("o3", "µg/m³"), ("so2", "ug/m3"), ("co", "mg/m³"), ("pm25", "µg/m³")]:
        assert to_aqi_units(p, from_aqi_units(p, 7.5, u), u) == pytest.approx(7.5)
    with pytest.raises(ValueError):
        from_aqi_units("pm25", 1.0, "ppm")


# ---- India, CPCB NAQI ------------------------------------------------------------------------

IN_VECTORS = [
    ("pm25", 45, 75),    # 50 + (45-30)*50/30 = 75
    ("pm25", 95, 217),   # 200 + (95-90)*100/30 = 216.67 -> 217
    ("pm10", 300, 250),  # 200 + (300-250)*100/100 = 250
    ("co", 1.5, 75),     # 50 + (1.5-1)*50/1 = 75 (mg/m³, max 8-h)
    ("o3", 180, 230),    # 200 + (180-168)*100/40 = 230 (max 8-h)
    ("so2", 100, 107),   # 100 + (100-80)*100/300 = 106.67 -> 107
    ("pm25", 380, 500),  # Severe row continued with the Very Poor slope: 400 + 130*100/130
]


@pytest.mark.parametrize("pollutant, conc, expected", IN_VECTORS, ids=[f"{p}-{c}" for p, c, _ in IN_VECTORS])
def test_india_sub_index_by_hand(pollutant, conc, expected):
    assert ind.sub_index(pollutant, [conc])[0][0] == expected


def test_india_three_pollutant_rule_and_levels():
    sub = pd.DataFrame({"pm25": [75, 75, np.nan], "no2": [20, 20, 20], "so2": [np.nan, 10, 10],
                        "o3": [np.nan, np.nan, 30]})
    aqi, dominant = ind.overall(sub)
    assert np.isnan(aqi[0]) and dominant[0] is None  # two pollutants only
    assert aqi[1] == 75 and dominant[1] == "pm25"
    assert np.isnan(aqi[2])  # three, but no PM2.5 / PM10
    assert ind.category([50, 51, 100, 101, 200, 201, 300, 301, 400, 401, 900]).tolist() == [
        "Good", "Satisfactory", "Satisfactory", "Moderate", "Moderate", "Poor", "Poor",
        "Very Poor", "Very Poor", "Severe", "Severe"]


CPCB = FIXTURES / "india_cpcb" / "city_day_2015-2019.csv"


@pytest.fixture(scope="module")
def cpcb_report():
    return cpcb_compare.report(CPCB)


def test_cpcb_file_is_whole(cpcb_report):
    assert cpcb_report["plain"]["rows"] == 24885 and cpcb_report["plain"]["published"] == 20429
    assert cpcb_report["published_bucket_consistent"] == 1.0  # our NAQI categories = CPCB's buckets


# Measured on every row (deterministic); tolerance only for float/library drift.
PLAIN = {"exact": 0.0197, "within5": 0.2046, "same_bucket": 0.6956}
BEST = {"exact": 0.0284, "within5": 0.2835, "same_bucket": 0.7437}


def test_cpcb_plain_recomputation_rates(cpcb_report):
    for k, v in PLAIN.items():
        assert cpcb_report["plain"][k] == pytest.approx(v, abs=0.002), k


def test_cpcb_best_rule_and_rates(cpcb_report):
    best = cpcb_report["best"]
    assert best["rule"] == "NOx, NH3 in, 24-h = 0.5 x D-1 + 0.5 x D"
    for k, v in BEST.items():
        assert best[k] == pytest.approx(v, abs=0.002), k
    c = best["classes"]
    assert c["exact"] == pytest.approx(581, abs=10)
    assert c["off > 5, ours led by CO/O3 (daily mean for an 8-h max)"] == pytest.approx(3164, abs=30)
    assert c["published, ours missing: fewer than 3 pollutants"] + c[
        "published, ours missing: no PM2.5/PM10"] == pytest.approx(94, abs=5)


def test_city_daily_carries_each_national_index_of_its_top_monitor():
    """The features get each national scale's city index (the highest among the city's monitors,
    as for the US AQI) and its dominant pollutant; the category names stay in the curated table."""
    from include.etl.daily import COLUMNS, NATIONAL_COLUMNS
    from include.etl.features import CITY_KEYS, NATIONAL, NATIONAL_DOMINANT, STATS, SUBINDICES, city_daily

    assert set(NATIONAL_COLUMNS) <= set(COLUMNS)
    base = {c: 1.0 for c in STATS + SUBINDICES} | {k: "x" for k in CITY_KEYS} | {
        "city_id": 1, "date": "2024-01-01", "aqi": 60.0, "dominant_pollutant": "pm25",
        "aqi_cn_category": "Good", "aqi_in_category": "Satisfactory"}
    rows = [base | {"location_id": 7, "aqi_cn": 70.0, "aqi_cn_dominant": "pm25", "aqi_in": 120.0, "aqi_in_dominant": "pm10"},
            base | {"location_id": 8, "aqi_cn": 90.0, "aqi_cn_dominant": "o3", "aqi_in": None, "aqi_in_dominant": None}]
    out = city_daily(pd.DataFrame(rows))
    assert len(out) == 1 and set(NATIONAL + NATIONAL_DOMINANT) <= set(out.columns)
    assert not {"aqi_cn_category", "aqi_in_category"} & set(out.columns)
    r = out.iloc[0]
    assert (r["aqi_cn"], r["aqi_cn_dominant"], r["aqi_in"], r["aqi_in_dominant"]) == (90.0, "o3", 120.0, "pm10")
