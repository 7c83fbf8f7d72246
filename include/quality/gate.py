"""The quality gate for logical date D: run the suites with Great Expectations, write the full
results and Data Docs into the lake, and fail with a readable summary on a critical failure.

Outputs: ``quality/date=D/results.json`` (every suite's GX validation result, plus our summary)
and ``quality/docs/index.html`` (GX Data Docs of the latest validation, static HTML).
GX is imported only here, inside functions: it takes several seconds to import.
"""
from __future__ import annotations

import datetime as dt
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from include.catalog import AIR_QUALITY, FEATURES, MEASUREMENTS, QUALITY, quality_results, quarantine, run_report
from include.config import EtlRules, QualityRules
from include.etl.pipeline import READERS
from include.lake import Lake
from include.quality import suites

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

log = logging.getLogger(__name__)
EXAMPLES = 5


class QualityGateFailed(RuntimeError):
    """A critical expectation failed; the message is the readable summary."""


@dataclass
class Finding:
    suite: str
    table: str
    severity: str
    expectation: str
    column: str | None
    why: str
    unexpected: int | None = None
    total: int | None = None
    examples: list = field(default_factory=list)
    observed: object = None

    def line(self) -> str:
        target = f"{self.expectation}({self.column})" if self.column else self.expectation
        if self.unexpected is not None:
            share = f" ({self.unexpected / self.total:.1%})" if self.total else ""
            what = f"{self.unexpected} of {self.total} rows{share} unexpected"
            if self.examples:
                what += f", e.g. {self.examples[:EXAMPLES]}"
        elif self.observed is not None:
            what = f"observed {self.observed}"
        else:
            what = "failed"
        return f"{self.severity.upper():8} {self.table}: {target}: {what} — {self.why}"


@dataclass
class GateResult:
    day: str
    findings: list[Finding]
    evaluated: int
    results_path: str = ""
    docs_path: str = ""

    @property
    def critical(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == suites.CRITICAL]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != suites.CRITICAL]

    @property
    def success(self) -> bool:
        return not self.critical

    def summary(self) -> str:
        head = (f"Quality gate {'PASSED' if self.success else 'FAILED'} for {self.day}: "
                f"{len(self.critical)} critical failure(s), {len(self.warnings)} warning(s), "
                f"{self.evaluated} expectations evaluated.")
        lines = [head] + [f.line() for f in self.critical + self.warnings]
        if self.results_path:
            lines.append(f"Full results: {self.results_path}")
        if self.docs_path:
            lines.append(f"Data Docs: {self.docs_path}")
        return "\n".join(lines)


def _load(lake: Lake, table: str, day: dt.date):
    # Text as categoricals: GX's set, null and uniqueness checks then work on integer codes (pandas
    # 3's Arrow strings are converted to objects to be factorised: seconds on a global day).
    return lake.read_partition(table, day, text_as_categories=True) if lake.has_partition(table, day) else None


def pair_key(measurements: "pd.DataFrame | None") -> "pd.DataFrame | None":
    """The measurements as GX checks them fast: ``parameter_unit`` = "<parameter> <unit>" (built
    once per distinct pair) and ``start_local`` in nanoseconds."""
    if measurements is None or not {"parameter", "unit"} <= set(measurements.columns):
        return measurements
    import numpy as np
    import pandas as pd

    parameter, unit = (measurements[c].astype("category") for c in ("parameter", "unit"))
    pc, uc = parameter.cat.codes.to_numpy(np.int64), unit.cat.codes.to_numpy(np.int64)
    width = len(unit.cat.categories)
    keys, inverse = np.unique(np.where((pc < 0) | (uc < 0), -1, pc * width + uc), return_inverse=True)
    names = [f"{parameter.cat.categories[k // width]} {unit.cat.categories[k % width]}" for k in keys if k >= 0]
    labels = pd.Categorical.from_codes(inverse.reshape(-1) - int((keys < 0).any()), names)  # -1: a missing half
    out = measurements.assign(**{suites.PAIR_KEY: labels})
    if "start_local" in out and str(out["start_local"].dtype).startswith("datetime64["):
        # GX compares datetime64[ns] columns vectorised and every other resolution row by row in
        # Python; pandas 3 reads Parquet timestamps as datetime64[us].
        out["start_local"] = out["start_local"].astype("datetime64[ns]")
    return out


def pollutant_values(measurements: "pd.DataFrame | None") -> "pd.DataFrame | None":
    """One float column per pollutant (``suites.value_column``): the value on that pollutant's rows,
    null elsewhere; what ``suites.ranges_suite`` checks."""
    if measurements is None or not {"parameter", "value"} <= set(measurements.columns):
        return None
    import numpy as np
    import pandas as pd

    from include.etl.measurements import POLLUTANTS

    # Compare small integer codes, not 1.4 M strings: pair_key's categories are "<parameter> <unit>".
    if isinstance(measurements.get(suites.PAIR_KEY), pd.Series) and measurements[suites.PAIR_KEY].dtype == "category":
        key = measurements[suites.PAIR_KEY].cat
        codes = key.codes.to_numpy()
        of_code = np.array([str(c).split(" ")[0] for c in key.categories] + [""], dtype=object)
    else:
        codes, uniques = pd.factorize(measurements["parameter"])
        of_code = np.array([str(u) for u in uniques] + [""], dtype=object)
    value = measurements["value"].to_numpy(dtype=float, na_value=np.nan)
    return pd.DataFrame({suites.value_column(p): np.where(np.isin(codes, np.flatnonzero(of_code == p)), value, np.nan)
                         for p in POLLUTANTS})


def city_shares(lake: Lake, day: dt.date) -> "pd.DataFrame | None":
    """D's share of locations without a city and its change against D-1, from the run reports
    (None when D's report predates the count; the change is 0 without a D-1 report)."""
    import pandas as pd

    def share(d: dt.date):
        path = lake.path(run_report(d))
        report = lake.read_json(path) if lake.exists(path) else {}
        return (report.get("cities") or {}).get("share_without_city")

    today, before = share(day), share(day - dt.timedelta(days=1))
    if today is None:
        return None
    return pd.DataFrame([{"share_without_city": today, "previous_share_without_city": before,
                          "share_without_city_change": today - before if before is not None else 0.0}])


def quarantine_shares(lake: Lake, day: dt.date) -> "pd.DataFrame":
    """Per source: rows kept and quarantined for D (from the ETL run report) and the share, and
    the data lines the run report could not account for (``rows_unaccounted``; missing when the
    report predates the accounting)."""
    import pandas as pd

    path = lake.path(run_report(day))
    report = lake.read_json(path) if lake.exists(path) else {"sources": {}}
    rows = []
    for source in READERS:
        r = report["sources"].get(source, {})
        q = _load(lake, quarantine(source), day)
        quarantined = len(q) if q is not None else int(r.get("rows_quarantined", 0))
        kept = int(r.get("rows_kept", 0))
        total = kept + quarantined
        rows.append({"source": source, "rows_kept": kept, "rows_quarantined": quarantined,
                     "quarantine_share": quarantined / total if total else 0.0,
                     "failed_objects": len(r.get("failed_objects", [])),
                     "rows_unaccounted": r["accounting"]["rows_unaccounted"] if "accounting" in r else None})
    return pd.DataFrame(rows)


def run_gate(lake: Lake, day: dt.date, *, raise_on_failure: bool = True, data_docs: bool = True,
             rules: QualityRules = QualityRules(), etl_rules: EtlRules = EtlRules()) -> GateResult:
    """Validate D's partitions; write results (and Data Docs); raise ``QualityGateFailed`` on a
    critical failure when ``raise_on_failure``."""
    iso = day.isoformat()
    prev_day = day - dt.timedelta(days=1)
    features = _load(lake, FEATURES, day)
    features_prev = _load(lake, FEATURES, prev_day)
    before_prev = _load(lake, FEATURES, day - dt.timedelta(days=2))
    measurements = pair_key(_load(lake, MEASUREMENTS, day))
    checks = [
        ("measurements", MEASUREMENTS, measurements, lambda: suites.measurements_suite(iso, etl_rules)),
        *([("measurement_ranges", MEASUREMENTS, ranges, lambda: suites.ranges_suite(etl_rules))]
          if (ranges := pollutant_values(measurements)) is not None else []),
        ("air_quality", AIR_QUALITY, _load(lake, AIR_QUALITY, day), lambda: suites.air_quality_suite(iso)),
        ("quarantine", "quarantine/*", quarantine_shares(lake, day), lambda: suites.quarantine_suite(rules)),
        *([("cities", "_runs/etl", cities, lambda: suites.cities_suite(rules))]
          if (cities := city_shares(lake, day)) is not None else []),
        ("features", FEATURES, features,
         lambda: suites.features_suite(iso, len(features_prev) if features_prev is not None else None, False, rules)),
    ]
    if features_prev is not None:
        checks.append(("features_previous_day", FEATURES, features_prev,
                       lambda: _renamed(suites.features_suite(prev_day.isoformat(),
                                                              len(before_prev) if before_prev is not None else None,
                                                              True, rules), "features_previous_day")))

    findings: list[Finding] = []
    evaluated = 0
    results_json = {}
    coverage = {}  # per validation: the rows its expectations saw (all of them: no rule is sampled)
    docs_dir = tempfile.mkdtemp(prefix="aqicast-docs-") if data_docs else None
    context = _context(docs_dir)
    for name, table, frame, make_suite in checks:
        if frame is None:
            findings.append(Finding(name, table, suites.CRITICAL, "partition_exists", None,
                                    f"no partition {lake.partition_file(table, day)}; did the ETL run?"))
            continue
        result = _validate(context, name, make_suite(), frame)
        results_json[name] = result.to_json_dict()
        coverage[name] = {"table": table, "rows": len(frame), "rows_validated": len(frame), "sampled": False,
                          "expectations": len(result.results)}
        evaluated += len(result.results)
        findings += [_finding(name, table, r, len(frame)) for r in result.results if not r.success]

    if docs_dir:  # once for every suite: a build per checkpoint re-renders the site each time
        context.build_data_docs(site_names=["lake"])
    gate = GateResult(iso, findings, evaluated)
    gate.results_path = lake.url(lake.path(quality_results(iso)))
    lake.write_json(lake.path(quality_results(iso)), {
        "date": iso, "success": gate.success, "summary": gate.summary(),
        "findings": [f.__dict__ for f in findings], "coverage": coverage, "validations": results_json,
    })
    if docs_dir:
        gate.docs_path = _publish_docs(lake, docs_dir)
    log.info("%s", gate.summary())
    if raise_on_failure and not gate.success:
        raise QualityGateFailed(gate.summary())
    return gate


def _renamed(suite, name):
    suite.name = name
    return suite


def _context(docs_dir: str | None):
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    logging.getLogger("great_expectations").setLevel(logging.WARNING)
    import great_expectations as gx

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)
    context = gx.get_context(mode="ephemeral")
    try:
        from great_expectations.data_context.types.base import ProgressBarsConfig

        context.variables.progress_bars = ProgressBarsConfig(globally=False, metric_calculations=False)
    except Exception:  # noqa: BLE001 - cosmetic only
        pass
    if docs_dir:
        context.add_data_docs_site(site_name="lake", site_config={
            "class_name": "SiteBuilder",
            "store_backend": {"class_name": "TupleFilesystemStoreBackend", "base_directory": docs_dir},
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        })
    context.data_sources.add_pandas("lake")
    return context


def _validate(context, name: str, suite, frame: "pd.DataFrame"):
    import great_expectations as gx

    asset = context.data_sources.get("lake").add_dataframe_asset(name)
    batch_definition = asset.add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(suite)
    vd = context.validation_definitions.add(gx.ValidationDefinition(name=name, data=batch_definition, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(name=name, validation_definitions=[vd], actions=[],
                                                       result_format={"result_format": "SUMMARY",
                                                                      "partial_unexpected_count": EXAMPLES}))
    result = checkpoint.run(batch_parameters={"dataframe": frame})
    (validation,) = result.run_results.values()
    return validation


def _finding(suite: str, table: str, r, rows: int) -> Finding:
    cfg = r.expectation_config
    meta = cfg.meta or {}
    res = r.result or {}
    kwargs = cfg.kwargs
    column = kwargs.get("column") or kwargs.get("column_list") or (
        f"{kwargs['column_A']},{kwargs['column_B']}" if "column_A" in kwargs else None)
    if cfg.type == "expect_table_columns_to_match_set":  # required columns: name the missing ones
        missing = ((res.get("details") or {}).get("mismatched") or {}).get("missing") or []
        column, res = ",".join(missing) or None, {**res, "observed_value": {"missing": missing}}
    if isinstance(column, list):
        column = ",".join(column)
    if r.exception_info and r.exception_info.get("raised_exception"):
        why = f"{meta.get('why', '')} (could not evaluate: {r.exception_info.get('exception_message')})"
    else:
        why = meta.get("why", "")
    cond = kwargs.get("row_condition") or meta.get("where")
    if meta.get("where"):  # a per-pollutant column (suites.ranges_suite): its rows are the non-null ones
        column = meta.get("column", column)
        if res.get("missing_count") is not None and res.get("element_count") is not None:
            res = {**res, "element_count": res["element_count"] - res["missing_count"]}
    if isinstance(cond, dict) and {"column", "operator", "parameter"} <= set(cond):
        cond = f"{cond['column'].get('name')} {cond['operator']} {cond['parameter']!r}"
    if cond:
        column = f"{column} where {cond}"
    return Finding(
        suite=suite, table=table, severity=meta.get("severity", suites.CRITICAL), expectation=cfg.type,
        column=column, why=why, unexpected=res.get("unexpected_count"),
        total=res.get("element_count", rows) if res.get("unexpected_count") is not None else None,
        examples=[_plain(x) for x in res.get("partial_unexpected_list", [])[:EXAMPLES]],
        observed=_plain(res.get("observed_value")),
    )


def _plain(value):
    try:
        import numpy as np

        if isinstance(value, np.generic):
            return value.item()
    except ImportError:  # pragma: no cover
        pass
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value if isinstance(value, (int, float, str, type(None), bool)) else str(value)


def _publish_docs(lake: Lake, docs_dir: str) -> str:
    """Replace ``quality/docs`` in the lake with the freshly built site."""
    target = lake.path(QUALITY, "docs")
    try:
        if lake.fs.exists(target):
            lake.fs.rm(target, recursive=True)
        lake.fs.put(docs_dir.rstrip("/") + "/", target, recursive=True)
    finally:
        shutil.rmtree(docs_dir, ignore_errors=True)
    return lake.url(lake.path(QUALITY, "docs", "index.html"))
