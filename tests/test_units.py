"""Unit handling: real-world unit spellings and conversions to the EPA AQI table units.

Expected numbers are worked out by hand from ppb = µg/m³ × 24.45 / molar mass (EPA, 25 °C).
"""

import numpy as np
import pandas as pd
import pytest

from include.etl.units import AQI_UNITS, MOLAR_MASS, normalize_unit, to_aqi_units


@pytest.mark.parametrize(
    "raw, expected",
    [
        ("µg/m³", "µg/m³"),  # micro sign U+00B5
        ("\u03bcg/m\u00b3", "µg/m³"),  # Greek small mu U+03BC (OpenAQ uses this)
        ("ug/m3", "µg/m³"),
        ("UG/M3", "µg/m³"),
        ("µg/m3", "µg/m³"),
        ("ug/m³", "µg/m³"),
        ("ug/m3 LC", "µg/m³"),  # EPA AirData PM2.5
        ("ug/m3 SC", "µg/m³"),  # EPA AirData PM10
        ("mg/m³", "mg/m³"),
        ("mg/m3", "mg/m³"),
        ("ppm", "ppm"),
        ("PPM", "ppm"),
        ("ppb", "ppb"),
        ("Parts per billion", None),
        ("furlongs", None),
        ("", None),
        (None, None),
        (np.nan, None),
    ],
)
def test_normalize_unit(raw, expected):
    out = normalize_unit(pd.Series([raw], dtype=object))
    if expected is None:
        assert out.isna().all()
    else:
        assert out.iloc[0] == expected


def test_normalize_unit_keeps_index():
    s = pd.Series(["ppm", "ug/m3"], index=[10, 20])
    out = normalize_unit(s)
    assert list(out.index) == [10, 20]
    assert out.tolist() == ["ppm", "µg/m³"]


def test_aqi_units_and_molar_masses():
    assert AQI_UNITS == {"pm25": "µg/m³", "pm10": "µg/m³", "o3": "ppm", "co": "ppm", "so2": "ppb", "no2": "ppb"}
    assert MOLAR_MASS == {"o3": 48.00, "no2": 46.0055, "so2": 64.066, "co": 28.010}


@pytest.mark.parametrize(
    "parameter, value, unit, expected",
    [
        ("no2", 100.0, "µg/m³", 53.14582),  # 2445 / 46.0055
        ("no2", 0.1, "ppm", 100.0),
        ("no2", 53.0, "ppb", 53.0),
        ("so2", 100.0, "ug/m3", 38.16377),  # 2445 / 64.066
        ("so2", 1.0, "ppm", 1000.0),
        ("co", 1.0, "mg/m³", 0.872902),  # 24.45 / 28.010
        ("co", 1616.33, "µg/m³", 1.410899),  # 1616.33 * 24.45 / 28.010 / 1000
        ("co", 1000.0, "ppb", 1.0),
        ("co", 9.4, "ppm", 9.4),
        ("o3", 100.0, "\u03bcg/m\u00b3", 0.0509375),  # 2445 / 48 / 1000, Greek-mu spelling
        ("o3", 50.0, "ppb", 0.05),
        ("o3", 0.07, "ppm", 0.07),
        ("pm25", 12.0, "\u03bcg/m\u00b3", 12.0),
        ("pm25", 0.035, "mg/m3", 35.0),
        ("pm10", 54.0, "ug/m3 SC", 54.0),
    ],
)
def test_to_aqi_units_values(parameter, value, unit, expected):
    out = to_aqi_units(np.array([parameter]), np.array([value]), np.array([unit], dtype=object))
    assert out.dtype == np.float64
    assert out[0] == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize(
    "parameter, unit",
    [
        ("pm25", "ppm"),  # particles have no mixing ratio
        ("pm10", "ppb"),
        ("no2", "furlongs"),
        ("co", None),
        ("bc", "µg/m³"),  # not an AQI pollutant
        ("", "ppm"),
    ],
)
def test_to_aqi_units_impossible_is_nan(parameter, unit):
    out = to_aqi_units(np.array([parameter]), np.array([1.0]), np.array([unit], dtype=object))
    assert np.isnan(out[0])


def test_to_aqi_units_mixed_series():
    df = pd.DataFrame(
        {
            "parameter": ["pm25", "o3", "o3", "co", "no2", "pm25", "so2"],
            "value": [10.0, 0.05, 100.0, 2.0, np.nan, 3.0, 20.0],
            "unit": ["µg/m³", "ppm", "μg/m³", "mg/m³", "ppb", "ppm", "ppb"],
        },
        index=list("abcdefg"),
    )
    out = to_aqi_units(df["parameter"], df["value"], df["unit"])
    expected = [10.0, 0.05, 0.0509375, 2 * 0.872902, np.nan, np.nan, 20.0]
    np.testing.assert_allclose(out, expected, rtol=1e-6)


def test_to_aqi_units_broadcasts_scalars():
    out = to_aqi_units("co", np.array([1.0, 2.0]), "mg/m3")
    np.testing.assert_allclose(out, [0.872902, 1.745805], rtol=1e-6)
