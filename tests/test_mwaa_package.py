"""The MWAA bundle: what deploy/mwaa/deploy.sh uploads is complete and importable."""
from __future__ import annotations

import importlib.util
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_build():
    spec = importlib.util.spec_from_file_location("mwaa_build", ROOT / "deploy" / "mwaa" / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_bundle_contents(tmp_path):
    out = load_build().build(tmp_path / "dist")
    mwaa, glue = out["mwaa"], out["glue"]
    assert (mwaa / "dags" / "aqicast_daily.py").exists()
    assert (mwaa / "dags" / "include" / "etl" / "pipeline.py").exists()
    assert (mwaa / "dags" / ".airflowignore").read_text().strip() == "include/"
    names = zipfile.ZipFile(mwaa / "plugins.zip").namelist()
    assert "aqicast_plugins/sagemaker_automl.py" in names and "aqicast_plugins/__init__.py" in names
    req = (mwaa / "requirements.txt").read_text()
    assert '--constraint "https://raw.githubusercontent.com/apache/airflow/constraints-3.3.1/constraints-3.12.txt"' in req
    assert "apache-airflow==" not in req  # MWAA provides Airflow itself
    glue_zip = zipfile.ZipFile(glue / "aqicast.zip").namelist()
    assert "include/glue_job.py" in glue_zip and "include/etl/aqi.py" in glue_zip
    assert not any("__pycache__" in n for n in glue_zip + names)
    # The Glue job's pinned set without Spark (Glue 5.0 provides it), pins as in requirements-glue.txt.
    glue_req = (glue / "requirements-glue.txt").read_text().splitlines()
    pins = {ln.split("==")[0]: ln for ln in (ROOT / "requirements-glue.txt").read_text().splitlines() if "==" in ln}
    shipped = {ln.split("==")[0]: ln for ln in glue_req if "==" in ln}
    assert {"pandas", "pyarrow", "numpy"} <= shipped.keys()
    assert {k: v.split()[0] for k, v in shipped.items()} == {
        k: v.split()[0] for k, v in pins.items() if k not in ("pyspark", "py4j")}
    assert not [r for r in glue_req if r.startswith(("pyspark", "py4j", "apache-airflow"))]
    assert all("==" in r for r in glue_req if not r.startswith("#"))
    # Reproducible: building twice gives the same archives.
    again = load_build().build(tmp_path / "dist2")
    assert (again["mwaa"] / "plugins.zip").read_bytes() == (mwaa / "plugins.zip").read_bytes()


def test_the_bundled_dags_folder_parses_with_plugins_from_the_zip(tmp_path):
    out = load_build().build(tmp_path / "dist")
    code = (
        "import sys; sys.path[:0] = [sys.argv[1], sys.argv[2]]\n"
        "from airflow.dag_processing.dagbag import DagBag\n"
        "bag = DagBag(dag_folder=sys.argv[1]); print(len(bag.import_errors), sorted(bag.dags))\n"
    )
    res = subprocess.run([sys.executable, "-c", code, str(out["mwaa"] / "dags"), str(out["mwaa"] / "plugins.zip")],
                         capture_output=True, text=True, cwd=tmp_path)
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.strip().splitlines()[-1] == "0 ['aqicast_backfill', 'aqicast_daily']"
