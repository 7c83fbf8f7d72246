"""US EPA AQI, checked against EPA's own numbers.

The main specification is the EPA AirData daily files in tests/fixtures/epa_airdata/: every row
carries a concentration and the DAILY_AQI_VALUE that EPA computed from it, and every row must be
reproduced. Other expectations come from the EPA breakpoint table (OpenAQ AQI-hub copy), the
python-aqi test vectors, or are worked out by hand from the EPA formula.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from include.etl.aqi import (
    BREAKPOINTS,
    CATEGORIES,
    PM25_2012,
    breakpoints,
    category,
    category_info,
    ozone_sub_index,
    overall_aqi,
    sub_index,
    truncate,
)
from include.etl.units import AQI_UNITS, normalize_unit

FIXTURES = Path(__file__).parent / "fixtures"
EPA = FIXTURES / "epa_airdata"


def read_epa_daily(name: str) -> pd.DataFrame:
    """An AirData file as concentration, unit, EPA AQI (old 20-column or new 22-column header)."""
    raw = pd.read_csv(EPA / name, dtype=str)
    conc_col = next(c for c in raw.columns if c.endswith("Concentration"))
    aqi_col = "DAILY_AQI_VALUE" if "DAILY_AQI_VALUE" in raw else "Daily AQI Value"
    unit_col = "UNITS" if "UNITS" in raw else "Units"
    return pd.DataFrame(
        {
            "date": raw["Date"],
            "site": raw["Site ID"],
            "raw_conc": raw[conc_col],
            "conc": pd.to_numeric(raw[conc_col]),
            "unit": raw[unit_col],
            "epa_aqi": pd.to_numeric(raw[aqi_col]),
        }
    )


EPA_FILES = [
    # file, pollutant, PM2.5 table, parameter (for the unit check), expected rows
    ("ad_viz_pm25_los_angeles_county_2023.csv", "pm25", "2012", "pm25", 4389),  # downloaded before May 2024
    ("ad_viz_pm25_pittsburgh_region_2024.csv", "pm25", "2024", "pm25", 6096),
    ("ad_viz_o3_los_angeles_north_main_2010-2021.csv", "o3_8h", "2024", "o3", 4147),
    ("ad_viz_o3_new_york_city_2023.csv", "o3_8h", "2024", "o3", 1366),
    ("ad_viz_pm10_los_angeles_county_2019.csv", "pm10", "2024", "pm10", 474),
    ("ad_viz_so2_allegheny_philadelphia_2023.csv", "so2", "2024", "so2", 894),
]


@pytest.mark.parametrize("name, pollutant, table, parameter, n_rows", EPA_FILES, ids=[f[0] for f in EPA_FILES])
def test_reproduces_every_epa_daily_aqi(name, pollutant, table, parameter, n_rows):
    df = read_epa_daily(name)
    assert len(df) == n_rows
    assert df["conc"].notna().all() and df["epa_aqi"].notna().all()
    assert (normalize_unit(df["unit"]) == AQI_UNITS[parameter]).all()

    df["aqi"], capped = sub_index(pollutant, df["conc"], pm25_table=table)

    mismatches = df[df["aqi"] != df["epa_aqi"]]
    assert mismatches.empty, f"{len(mismatches)}/{len(df)} rows differ:\n{mismatches.head(30).to_string()}"
    assert not capped.any()


def test_table_switch_matters():
    """The LA 2023 file predates the 2024 PM2.5 table, Pittsburgh 2024 postdates it."""
    la = read_epa_daily("ad_viz_pm25_los_angeles_county_2023.csv")
    pitt = read_epa_daily("ad_viz_pm25_pittsburgh_region_2024.csv")
    la_2024 = (sub_index("pm25", la["conc"], pm25_table="2024")[0] == la["epa_aqi"]).mean()
    pitt_2012 = (sub_index("pm25", pitt["conc"], pm25_table="2012")[0] == pitt["epa_aqi"]).mean()
    assert la_2024 < 0.5
    assert pitt_2012 < 0.5


def test_negative_concentrations_in_epa_file_give_zero():
    la = read_epa_daily("ad_viz_pm25_los_angeles_county_2023.csv")
    neg = la[la["conc"] < 0]
    assert len(neg) > 0 and (neg["epa_aqi"] == 0).all()
    aqi, _ = sub_index("pm25", neg["conc"], pm25_table="2012")
    assert (aqi == 0).all()


# --- breakpoint table == the May 2024 EPA table as published by OpenAQ's AQI hub -------------------

_HUB_KEYS = {
    ("PM2.5", "24"): "pm25",
    ("PM10", "24"): "pm10",
    ("CO", "8"): "co",
    ("O3", "8"): "o3_8h",
    ("O3", "1"): "o3_1h",
    ("SO2", "1"): "so2",
    ("NO2", "1"): "no2",
}


def test_breakpoints_match_epa_2024_table():
    hub = pd.read_csv(FIXTURES / "aqi" / "openaq_aqi_hub_breakpoints_us.csv", dtype=str)
    hub["key"] = [_HUB_KEYS[(p, a)] for p, a in zip(hub["pollutant"], hub["averaging_period"])]
    for col in ("category_lower", "category_upper", "concentration_lower", "concentration_upper"):
        hub[col] = pd.to_numeric(hub[col])
    assert set(hub["key"]) == set(BREAKPOINTS)

    for r in hub.itertuples():
        rows = {bp.i_lo: bp for bp in BREAKPOINTS[r.key]}
        if r.key == "o3_1h" and r.category_lower < 101:  # O3 1-h below AQI 101: undefined
            assert np.isnan(r.concentration_upper) and r.category_lower not in rows, r
            continue
        if np.isnan(r.concentration_upper):  # open-ended Hazardous row
            assert r.category_lower == 301 and np.isnan(r.category_upper), r
            if r.key == "o3_8h":  # EPA: 8-h O3 above 0.200 is not defined, 1-h is used
                assert r.category_lower not in rows
            else:
                assert rows[r.category_lower].c_lo == r.concentration_lower, r
                assert rows[r.category_lower].i_hi == 500
            continue
        bp = rows[r.category_lower]
        assert (bp.c_lo, bp.c_hi, bp.i_lo, bp.i_hi) == (
            r.concentration_lower,
            r.concentration_upper,
            r.category_lower,
            r.category_upper,
        ), r


def test_hazardous_rows_and_2012_table():
    assert BREAKPOINTS["pm25"][-1] == (225.5, 325.4, 301, 500)
    assert BREAKPOINTS["pm10"][-1] == (425, 604, 301, 500)
    assert BREAKPOINTS["co"][-1] == (30.5, 50.4, 301, 500)
    assert BREAKPOINTS["o3_1h"][-1] == (0.405, 0.604, 301, 500)
    assert BREAKPOINTS["o3_8h"][-1] == (0.106, 0.200, 201, 300)
    assert BREAKPOINTS["so2"][-1] == (605, 1004, 301, 500)
    assert BREAKPOINTS["no2"][-1] == (1250, 2049, 301, 500)
    assert [tuple(bp) for bp in PM25_2012] == [
        (0.0, 12.0, 0, 50), (12.1, 35.4, 51, 100), (35.5, 55.4, 101, 150), (55.5, 150.4, 151, 200),
        (150.5, 250.4, 201, 300), (250.5, 350.4, 301, 400), (350.5, 500.4, 401, 500),
    ]
    assert breakpoints("pm25", "2012") == PM25_2012
    assert breakpoints("pm25") == BREAKPOINTS["pm25"]
    assert breakpoints("co", "2012") == BREAKPOINTS["co"]  # the switch only concerns PM2.5
    with pytest.raises(ValueError):
        breakpoints("pm25", "2013")
    with pytest.raises(ValueError):
        sub_index("o3", [0.05])  # ambiguous: 8-h or 1-h


# --- python-aqi test vectors ------------------------------------------------------------------

_VECTOR_KEYS = {("PM2.5", "24h"): "pm25", ("O3", "8h"): "o3_8h", ("O3", "1h"): "o3_1h", ("CO", "8h"): "co"}


def _vectors():
    v = pd.read_csv(FIXTURES / "aqi" / "python_aqi_epa_test_vectors.csv", dtype=str)
    v = v[v["kind"] == "conc_to_iaqi"]
    out = []
    for r in v.itertuples():
        if r.same_result_under_current_epa_table == "yes":
            out.append(pytest.param(r, "2024", id=f"{r.case_id}-current"))
        elif r.pollutant == "PM2.5":  # the superseded O3 2008 table is not implemented
            out.append(pytest.param(r, "2012", id=f"{r.case_id}-2012"))
    return out


@pytest.mark.parametrize("vector, table", _vectors())
def test_python_aqi_vectors(vector, table):
    pollutant = _VECTOR_KEYS[(vector.pollutant, vector.averaging)]
    aqi, _ = sub_index(pollutant, [float(vector.concentration)], pm25_table=table)
    assert aqi[0] == int(vector.expected)


def test_python_aqi_vectors_cover_both_tables():
    tables = [p.values[1] for p in _vectors()]
    assert tables.count("2024") == 4 and tables.count("2012") == 3


# --- edge cases, expected values from the EPA formula by hand ------------------------------------


@pytest.mark.parametrize(
    "pollutant, conc, expected",
    [
        ("pm25", 0.0, 0),
        ("pm25", 9.0, 50),
        ("pm25", 9.05, 50),  # truncated to 9.0, not rounded to 9.1
        ("pm25", 9.1, 51),
        ("pm25", 35.4, 100),
        ("pm25", 35.45, 100),
        ("pm25", 35.5, 101),
        ("pm25", 225.4, 300),
        ("pm25", 225.5, 301),
        ("pm25", 325.4, 500),
        ("pm10", 54.9, 50),
        ("pm10", 55, 51),
        ("pm10", 604, 500),
        ("o3_8h", 0.027, 25),
        ("o3_8h", 0.0549, 50),
        ("o3_8h", 0.080, 133),  # 101 + 49/0.014 * 0.009 = 132.5 -> half up
        ("o3_8h", 0.200, 300),
        ("o3_1h", 0.125, 101),
        ("o3_1h", 0.162, 147),
        ("o3_1h", 0.300, 248),  # 201 + 99/0.199 * 0.095 = 248.26
        ("o3_1h", 0.604, 500),
        ("co", 2.2, 25),
        ("co", 4.45, 50),
        ("co", 50.4, 500),
        ("so2", 7, 10),
        ("so2", 35.9, 50),
        ("so2", 36, 51),
        ("so2", 1004, 500),
        ("no2", 53, 50),
        ("no2", 100, 100),
        ("no2", 101, 101),
        ("no2", 2049, 500),
    ],
)
def test_sub_index_by_hand(pollutant, conc, expected):
    aqi, capped = sub_index(pollutant, np.array([conc]))
    assert aqi[0] == expected
    assert not capped[0]


@pytest.mark.parametrize(
    "conc, expected",
    [(12.0, 50), (12.1, 51), (150.4, 200), (150.5, 201), (350.4, 400), (350.5, 401), (500.4, 500)],
)
def test_sub_index_pm25_2012(conc, expected):
    assert sub_index("pm25", [conc], pm25_table="2012")[0][0] == expected


@pytest.mark.parametrize(
    "pollutant, conc, table",
    [
        ("pm25", 325.5, "2024"),
        ("pm25", 1000.0, "2024"),
        ("pm25", 500.5, "2012"),
        ("pm10", 605, "2024"),
        ("o3_1h", 0.605, "2024"),
        ("co", 50.5, "2024"),
        ("so2", 1005, "2024"),
        ("no2", 2050, "2024"),
    ],
)
def test_above_top_breakpoint_is_capped_at_500(pollutant, conc, table):
    aqi, capped = sub_index(pollutant, [conc], pm25_table=table)
    assert aqi[0] == 500 and capped[0]


@pytest.mark.parametrize("pollutant", ["pm25", "pm10", "o3_8h", "o3_1h", "co", "so2", "no2"])
def test_nan_in_nan_out(pollutant):
    aqi, capped = sub_index(pollutant, np.array([np.nan, np.nan]))
    assert np.isnan(aqi).all() and not capped.any()


def test_negatives_count_as_zero():
    aqi, _ = sub_index("pm25", pd.Series([-2.8, -0.1, -0.0]))
    assert aqi.tolist() == [0.0, 0.0, 0.0]
    assert sub_index("so2", [-1.0])[0][0] == 0


def test_ozone_undefined_ranges():
    one_hour, capped = sub_index("o3_1h", [0.0, 0.124, 0.1249, 0.125])
    assert np.isnan(one_hour[:3]).all() and one_hour[3] == 101 and not capped.any()
    eight_hour, capped = sub_index("o3_8h", [0.200, 0.2009, 0.201, 0.5])
    assert eight_hour[0] == 300 and eight_hour[1] == 300
    assert np.isnan(eight_hour[2:]).all() and not capped.any()


def test_truncate_guards_float_error():
    assert truncate("pm25", 35.39999999) == 35.4
    assert truncate("pm25", np.nextafter(35.4, 0)) == 35.4
    assert truncate("pm25", 35.49) == 35.4
    assert truncate("o3_8h", np.nextafter(0.071, 0)) == 0.071
    assert truncate("o3", 0.0719) == 0.071
    assert truncate("pm10", 54.99) == 54
    assert truncate("co", 9.49) == 9.4
    assert truncate("no2", 100.9) == 100
    # 0.071 stored a hair low must still be USG (101), not Moderate (100)
    assert sub_index("o3_8h", [np.nextafter(0.071, 0)])[0][0] == 101


def test_sub_index_keeps_shape_and_dtype():
    conc = np.array([[5.0, 40.0], [np.nan, 400.0]])
    aqi, capped = sub_index("pm25", conc)
    assert aqi.shape == capped.shape == (2, 2)
    assert aqi.dtype == np.float64 and capped.dtype == bool
    assert aqi[0, 0] == 28 and aqi[0, 1] == 112 and np.isnan(aqi[1, 0]) and aqi[1, 1] == 500
    assert capped.tolist() == [[False, False], [False, True]]


def test_ozone_sub_index_takes_the_larger():
    o3_8h = np.array([0.080, 0.080, 0.250, 0.250, np.nan, 0.030, 0.060, 0.250])
    o3_1h = np.array([0.162, 0.100, 0.300, np.nan, 0.162, np.nan, 0.130, 0.700])
    aqi, capped = ozone_sub_index(o3_8h, o3_1h)
    # 8-h: 133, 133, undef, undef, NaN, 28, 67; 1-h: 147, undef, 248, NaN, 147, NaN, 107, capped
    np.testing.assert_array_equal(aqi, [147, 133, 248, np.nan, 147, 28, 107, 500])
    assert capped.tolist() == [False] * 7 + [True]


def test_ozone_sub_index_without_one_hour():
    aqi, capped = ozone_sub_index([0.080, 0.250])
    np.testing.assert_array_equal(aqi, [133, np.nan])
    assert not capped.any()


# --- overall AQI ----------------------------------------------------------------------------------


def test_overall_aqi_max_and_dominant():
    nan = np.nan
    sub = pd.DataFrame(
        {
            "aqi_pm25": [55, nan, 80, nan, nan, nan, nan, 40],
            "aqi_pm10": [nan, nan, nan, 70, nan, nan, nan, nan],
            "aqi_o3": [120, nan, 80, 70, 90, nan, nan, nan],
            "aqi_co": [10, nan, nan, nan, 90, 60, 33, nan],
            "aqi_so2": [nan, nan, nan, nan, nan, 60, 33, nan],
            "aqi_no2": [30, nan, nan, nan, 90, 60, nan, nan],
        },
        index=pd.Index(list("abcdefgh"), name="city"),
    )
    aqi, dominant = overall_aqi(sub)
    assert aqi.index.equals(sub.index) and dominant.index.equals(sub.index)
    np.testing.assert_array_equal(aqi.to_numpy(), [120, nan, 80, 70, 90, 60, 33, 40])
    # ties: order pm25, pm10, o3, no2, so2, co
    assert dominant.tolist() == ["o3", None, "pm25", "pm10", "o3", "no2", "so2", "pm25"]


def test_overall_aqi_missing_columns_count_as_missing():
    sub = pd.DataFrame({"aqi_co": [12.0, np.nan], "aqi_pm25": [11.0, np.nan]})
    aqi, dominant = overall_aqi(sub)
    assert aqi.iloc[0] == 12 and np.isnan(aqi.iloc[1])
    assert dominant.iloc[0] == "co" and dominant.iloc[1] is None


# --- categories -----------------------------------------------------------------------------------

_EPA_CATEGORIES = [  # EPA TAD May 2024
    ("Good", 0, 50, "#00E400"),
    ("Moderate", 51, 100, "#FFFF00"),
    ("Unhealthy for Sensitive Groups", 101, 150, "#FF7E00"),
    ("Unhealthy", 151, 200, "#FF0000"),
    ("Very Unhealthy", 201, 300, "#8F3F97"),
    ("Hazardous", 301, 500, "#7E0023"),
]


def test_categories_are_the_epa_ones():
    assert [(c.name, c.lower, c.upper, c.color) for c in CATEGORIES] == _EPA_CATEGORIES
    for c in CATEGORIES:
        assert c.health_effects and c.who_is_concerned and c.advice_general and c.advice_sensitive


@pytest.mark.parametrize(
    "aqi, name, color",
    [
        (0, "Good", "#00E400"),
        (50, "Good", "#00E400"),
        (51, "Moderate", "#FFFF00"),
        (100, "Moderate", "#FFFF00"),
        (101, "Unhealthy for Sensitive Groups", "#FF7E00"),
        (150, "Unhealthy for Sensitive Groups", "#FF7E00"),
        (151, "Unhealthy", "#FF0000"),
        (200, "Unhealthy", "#FF0000"),
        (201, "Very Unhealthy", "#8F3F97"),
        (300, "Very Unhealthy", "#8F3F97"),
        (301, "Hazardous", "#7E0023"),
        (500, "Hazardous", "#7E0023"),
    ],
)
def test_category_boundaries(aqi, name, color):
    assert category(np.array([aqi]))[0] == name
    info = category_info(aqi)
    assert info["name"] == name and info["color"] == color
    assert info["lower"] <= aqi <= info["upper"]


def test_category_vectorised_with_missing():
    out = category(pd.Series([np.nan, 12, 151, 700]))
    assert out.tolist() == [None, "Good", "Unhealthy", "Hazardous"]


def test_category_info_texts():
    good, usg = category_info(20), category_info(120)
    assert "little or no risk" in good["health_effects"]
    assert "sensitive groups" in usg["health_effects"].lower()
    assert "asthma" in usg["who_is_concerned"]
    assert usg["advice_sensitive"] != usg["advice_general"]
    with pytest.raises(ValueError):
        category_info(np.nan)
