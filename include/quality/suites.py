"""The data-quality rules, as Great Expectations 1.x expectations built in code.

Each expectation carries ``meta = {"severity": "critical" | "warning", "why": "..."}``:
a failed *critical* expectation fails the gate (and the DAG run); a failed *warning* is recorded
in the results and the task log but never blocks. Thresholds are environment variables.

Suites and what they guard (README "Data quality"):

- ``measurements`` (curated/measurements_hourly, D): schema, known parameters, known units per
  parameter, period starts inside local day D, one value per (location, parameter, period).
- ``measurement_ranges`` (the same table, one column per pollutant: ``gate.pollutant_values``):
  each pollutant's values within the ETL's range in its AQI unit.
- ``air_quality`` (curated/air_quality_daily, D): schema, non-empty, one row per (location, day),
  the day is D, AQI in 0..500, known category and dominant pollutant, hour counts 0..24, daily
  statistics in range.
- ``quarantine`` (per-source share of rejected rows, from the quarantine partitions and the run
  report): above ``QualityRules.max_quarantine_share`` (``AQICAST_MAX_QUARANTINE_SHARE``) is critical; every data line the ETL read is
  accounted for (kept, quarantined, ignored or out of partition: the run report's accounting),
  critical.
- ``features`` (features/city_daily, D and D-1): required columns, one row per city, the day is D,
  AQI/target in 0..500, target present where D+1 is known, row count against the previous
  partition, freshness (cities with today's AQI), weather coverage (cities with a station).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from include.config import EtlRules, QualityRules
from include.etl.aqi import CATEGORIES
from include.etl.measurements import PLAUSIBLE_MAX, POLLUTANTS, plausible_range
from include.etl.units import AQI_UNITS

if TYPE_CHECKING:  # pragma: no cover
    import great_expectations as gx


CRITICAL, WARNING = "critical", "warning"
#: The derived column holding "<parameter> <unit>" of each measurement (see ``gate.pair_key``).
PAIR_KEY = "parameter_unit"
#: Units a parameter may be reported in (any of them converts to its AQI unit).
UNITS = {"pm25": ["µg/m³", "mg/m³"], "pm10": ["µg/m³", "mg/m³"], "o3": ["µg/m³", "mg/m³", "ppm", "ppb"],
         "co": ["µg/m³", "mg/m³", "ppm", "ppb"], "so2": ["µg/m³", "mg/m³", "ppm", "ppb"],
         "no2": ["µg/m³", "mg/m³", "ppm", "ppb"]}
DAILY_RANGES = {"pm25_mean": PLAUSIBLE_MAX["pm25"], "pm10_mean": PLAUSIBLE_MAX["pm10"],
                "o3_max8h": PLAUSIBLE_MAX["o3"], "co_max8h": PLAUSIBLE_MAX["co"],
                "so2_max1h": PLAUSIBLE_MAX["so2"], "no2_max1h": PLAUSIBLE_MAX["no2"]}
AQ_COLUMNS = ["date", "location_id", "city_id", "aqi", "dominant_pollutant", "aqi_category",
              *DAILY_RANGES, *[f"{p}_hours" for p in POLLUTANTS], *[f"aqi_{p}" for p in POLLUTANTS]]
FEATURE_COLUMNS = ["city_id", "city", "date", "aqi", "target_aqi", "aqi_lag1", "aqi_lag7", "aqi_roll7_mean",
                   "pm25_mean", "temp_c", "dewp_c", "wdsp_ms", "pressure_hpa", "temp_c_missing",
                   "weather_stations", "day_of_week", "doy_sin", "doy_cos"]


def _meta(severity: str, why: str) -> dict:
    return {"severity": severity, "why": why}


def measurements_suite(day: str, etl_rules: EtlRules = EtlRules()) -> "gx.ExpectationSuite":
    import great_expectations.expectations as gxe

    c = _meta
    ex = [_columns(("source", "location_id", "parameter", "unit", "value", "period_hours", "start_local"), "schema")]
    ex += [
        gxe.ExpectColumnValuesToBeInSet(column="parameter", value_set=list(POLLUTANTS),
                                        meta=c(CRITICAL, "only AQI pollutants reach curated")),
        # One "parameter unit" key per row (gate.pair_key), checked with a vectorised isin: GX's
        # column-pair expectation iterates the rows in Python (575 s of 620 on a global day).
        gxe.ExpectColumnValuesToBeInSet(column=PAIR_KEY, value_set=[f"{p} {u}" for p, us in UNITS.items() for u in us],
                                        meta=c(CRITICAL, "a unit the conversion knows for that parameter")),
        gxe.ExpectColumnValuesToNotBeNull(column="value", meta=c(CRITICAL, "values are numbers")),
        gxe.ExpectColumnValuesToBeBetween(column="start_local", min_value=f"{day} 00:00:00",
                                          max_value=f"{day} 23:59:59",
                                          meta=c(CRITICAL, "every period starts inside the partition's local day")),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["location_id", "parameter", "start_local", "period_hours"],
                                            meta=c(CRITICAL, "one value per location, parameter and period")),
    ]
    return _suite("measurements", ex)


def value_column(parameter: str) -> str:
    """The column of ``gate.pollutant_values`` holding ``parameter``'s values (null on other rows)."""
    return f"value_{parameter}"


def ranges_suite(etl_rules: EtlRules = EtlRules()) -> "gx.ExpectationSuite":
    """Each pollutant's values within the ETL's own range (the rule that kept the value is the rule
    checked here), on ``gate.pollutant_values``: one column per pollutant, so GX checks each without
    a row condition (a row condition filters the whole 1.4 M-row table once per metric: 65 % of the
    gate on a global day). Every row of the pollutant is checked; the finding names the rows
    "value where parameter == 'p'" of ``curated/measurements_hourly``."""
    import great_expectations.expectations as gxe

    ex = []
    for p in POLLUTANTS:
        low, high = plausible_range(p, etl_rules)
        ex.append(gxe.ExpectColumnValuesToBeBetween(
            column=value_column(p), min_value=low, max_value=high,
            meta={**_meta(CRITICAL, f"{p} within the ETL's range in {AQI_UNITS[p]} (noise floor {low:g} .. "
                                    f"physical plausibility {high:g})"), "column": "value", "where": f"parameter == {p!r}"}))
    return _suite("measurement_ranges", ex)


def air_quality_suite(day: str) -> "gx.ExpectationSuite":
    import great_expectations.expectations as gxe

    c = _meta
    ex = [_columns(AQ_COLUMNS, "schema")]
    ex += [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=c(CRITICAL, "an empty partition means no data arrived")),
        gxe.ExpectColumnValuesToBeInSet(column="date", value_set=[day], meta=c(CRITICAL, "rows of the partition's day only")),
        gxe.ExpectCompoundColumnsToBeUnique(column_list=["location_id", "date"], meta=c(CRITICAL, "one row per location and day")),
        gxe.ExpectColumnValuesToBeBetween(column="aqi", min_value=0, max_value=500, meta=c(CRITICAL, "the AQI scale is 0..500")),
        gxe.ExpectColumnValuesToBeInSet(column="aqi_category", value_set=[k.name for k in CATEGORIES],
                                        meta=c(CRITICAL, "EPA category names")),
        gxe.ExpectColumnValuesToBeInSet(column="dominant_pollutant", value_set=list(POLLUTANTS),
                                        meta=c(CRITICAL, "dominant pollutant is an AQI pollutant")),
        gxe.ExpectColumnValuesToNotBeNull(column="aqi", mostly=0.5,
                                          meta=c(WARNING, "most locations have a complete day (75 % of hours)")),
        gxe.ExpectColumnValuesToNotBeNull(column="city_id", mostly=0.5,
                                          meta=c(WARNING, "most monitors belong to a gazetteer city")),
    ]
    for p in POLLUTANTS:
        ex.append(gxe.ExpectColumnValuesToBeBetween(column=f"{p}_hours", min_value=0, max_value=24,
                                                    meta=c(CRITICAL, "hour counts are 0..24")))
    for col, hi in DAILY_RANGES.items():
        ex.append(gxe.ExpectColumnValuesToBeBetween(column=col, min_value=0, max_value=hi,
                                                    meta=c(CRITICAL, f"{col} within physical range")))
    return _suite("air_quality", ex)


def quarantine_suite(rules: QualityRules = QualityRules()) -> "gx.ExpectationSuite":
    import great_expectations.expectations as gxe

    return _suite("quarantine", [
        gxe.ExpectColumnValuesToBeBetween(column="quarantine_share", min_value=0, max_value=rules.max_quarantine_share,
                                          meta=_meta(CRITICAL, f"more than {rules.max_quarantine_share:.0%} of a source's rows rejected")),
        gxe.ExpectColumnValuesToBeBetween(column="quarantine_share", min_value=0, max_value=rules.warn_quarantine_share,
                                          meta=_meta(WARNING, f"more than {rules.warn_quarantine_share:.0%} of a source's rows rejected")),
        gxe.ExpectColumnValuesToBeBetween(column="failed_objects", min_value=0, max_value=0,
                                          meta=_meta(WARNING, "raw objects that could not be read (see the ETL run report)")),
        gxe.ExpectColumnValuesToBeBetween(column="rows_unaccounted", min_value=0, max_value=0,
                                          meta=_meta(CRITICAL, "every row read is accounted for: kept, quarantined, "
                                                               "ignored or out of partition (run report accounting)")),
    ])


def cities_suite(rules: QualityRules = QualityRules()) -> "gx.ExpectationSuite":
    """The city rule at world scale, from the run reports of D and D-1."""
    import great_expectations.expectations as gxe

    return _suite("cities", [
        gxe.ExpectColumnValuesToBeBetween(
            column="share_without_city_change", max_value=rules.warn_city_share_jump,
            meta=_meta(WARNING, f"the share of locations without a city rose by more than "
                                f"{rules.warn_city_share_jump:.0%} against the previous day (see the run report's "
                                f"cities: no coordinates and no name match, or outside every catchment)")),
    ])


def features_suite(day: str, previous_rows: int | None, target_known: bool,
                   rules: QualityRules = QualityRules()) -> "gx.ExpectationSuite":
    import great_expectations.expectations as gxe

    c = _meta
    ex = [_columns(FEATURE_COLUMNS, "required by the model")]
    ex += [
        gxe.ExpectTableRowCountToBeBetween(min_value=1, meta=c(CRITICAL, "no city has features")),
        gxe.ExpectColumnValuesToBeInSet(column="date", value_set=[day], meta=c(CRITICAL, "rows of the partition's day only")),
        gxe.ExpectColumnValuesToBeUnique(column="city_id", meta=c(CRITICAL, "one row per city")),
        gxe.ExpectColumnValuesToBeBetween(column="aqi", min_value=0, max_value=500, meta=c(CRITICAL, "AQI scale")),
        gxe.ExpectColumnValuesToBeBetween(column="target_aqi", min_value=0, max_value=500, meta=c(CRITICAL, "AQI scale")),
        gxe.ExpectColumnValuesToNotBeNull(column="aqi", mostly=rules.min_fresh_share,
                                          meta=c(WARNING, "freshness: cities with an AQI for the day itself")),
        gxe.ExpectColumnValuesToBeBetween(column="weather_stations", min_value=1, mostly=rules.min_weather_share,
                                          meta=c(WARNING, "weather coverage: cities with a GSOD station nearby")),
    ]
    if target_known:
        ex.append(gxe.ExpectColumnValuesToNotBeNull(column="target_aqi", mostly=rules.min_fresh_share,
                                                    meta=c(CRITICAL, "the next day is known, so the target must be filled")))
    if previous_rows:
        floor = int(previous_rows * (1 - rules.max_row_drop) + 0.999)
        ex.append(gxe.ExpectTableRowCountToBeBetween(min_value=floor, meta=c(
            CRITICAL, f"row count dropped more than {rules.max_row_drop:.0%} against the previous partition ({previous_rows})")))
        ex.append(gxe.ExpectTableRowCountToBeBetween(
            min_value=int(previous_rows * (1 - rules.warn_row_change) + 0.999), max_value=int(previous_rows * (1 + rules.warn_row_change)),
            meta=c(WARNING, f"row count changed more than {rules.warn_row_change:.0%} against the previous partition ({previous_rows})")))
    return _suite("features", ex)


def _columns(columns, why: str):
    """One expectation for a table's required columns (the finding names the missing ones): a
    ``ExpectColumnToExist`` per column costs GX's per-expectation overhead (~20 ms) each."""
    import great_expectations.expectations as gxe

    return gxe.ExpectTableColumnsToMatchSet(column_set=list(columns), exact_match=False, meta=_meta(CRITICAL, why))


def _suite(name: str, expectations: list) -> "gx.ExpectationSuite":
    import great_expectations as gx

    for e in expectations:
        if hasattr(e, "severity"):  # GX >= 1.2 has its own field (default critical): keep it in step
            e.severity = e.meta["severity"]
    # All at once: ``add_expectation`` on a suite the context knows by name re-serialises the whole
    # suite into the store per expectation (quadratic; 11 s of the global day's gate).
    return gx.ExpectationSuite(name=name, expectations=expectations)
