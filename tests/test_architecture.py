"""The shape of the code, checked: the layers of the import contract (pyproject.toml, import-linter),
settings read in one place, and one orchestration per step."""
from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_the_import_contract_holds():
    """entry points -> orchestration -> app -> backends -> forecast -> training -> quality -> etl ->
    foundation, and serving reads only the snapshot (no pipeline code, no pandas on the Lambda)."""
    exe = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(exe)], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'plugins'}"})
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "2 kept, 0 broken" in out.stdout


def _modules():
    for path in sorted((ROOT / "include").rglob("*.py")):
        yield path, ast.parse(path.read_text(encoding="utf-8"))


def test_settings_are_read_only_in_config():
    """No module but include/config.py reads the environment: settings are loaded once per command
    or task (``config.load``) and passed in."""
    readers = []
    for path, tree in _modules():
        if path.name == "config.py" and path.parent.name == "include":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                owner = node.func.value
                name = f"{getattr(owner, 'id', getattr(owner, 'attr', ''))}.{node.func.attr}"
                if name in ("os.getenv", "environ.get"):
                    readers.append(f"{path.relative_to(ROOT)}:{node.lineno} {name}")
    assert readers == []


def test_table_names_are_spelled_once():
    """Lake tables are named in include/catalog.py only."""
    spelled = []
    for path, tree in _modules():
        if path.name == "catalog.py":
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in (
                    "curated/air_quality_daily", "curated/weather_daily", "features/city_daily",
                    "forecasts/city_daily", "curated/measurements_hourly", "serving/latest.json"):
                spelled.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.value}")
    assert spelled == []


def test_every_entry_point_calls_the_application_layer():
    """The CLI, the DAG and the Glue job run the ETL through ``app.ingest.etl``; none loops over
    ``run_etl`` itself."""
    for rel in ("include/cli.py", "include/glue_job.py", "dags/aqicast_daily.py", "dags/aqicast_backfill.py"):
        text = (ROOT / rel).read_text(encoding="utf-8")
        assert "run_etl" not in text, rel
        assert "from include.app import" in text, rel
