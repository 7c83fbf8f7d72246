"""Build what Amazon MWAA and the Glue job need, into dist/:

dist/mwaa/dags/            aqicast_daily.py + the ``include`` package (MWAA puts dags/ on sys.path)
dist/mwaa/plugins.zip      aqicast_plugins/ (the AutoML V2 operator, sensor, registry operator)
dist/mwaa/requirements.txt with the --constraint line for the MWAA Airflow version
dist/mwaa/startup.sh
dist/glue/glue_job.py      the Glue 5.0 job script
dist/glue/aqicast.zip      the ``include`` package, for the job's --extra-py-files
dist/glue/requirements-glue.txt  requirements-glue.txt without PySpark/py4j (Glue 5.0 provides Spark):
                           the job's --additional-python-modules (with --python-modules-installer-option -r)

    python deploy/mwaa/build.py [--out dist]
"""
from __future__ import annotations

import argparse
import shutil
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SKIP = {"__pycache__", ".pytest_cache"}


def _files(folder: Path):
    for p in sorted(folder.rglob("*")):
        if p.is_file() and not (SKIP & set(p.parts)) and p.suffix != ".pyc" and p.name != "build_fonts.py":
            yield p


def _zip(target: Path, folder: Path, base: Path) -> None:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as z:
        for p in _files(folder):
            info = zipfile.ZipInfo(str(p.relative_to(base)), date_time=(2020, 1, 1, 0, 0, 0))  # reproducible
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, p.read_bytes())


#: Provided by the Glue 5.0 image (Spark 3.5.4 and its py4j): never installed over it.
GLUE_PROVIDED = ("pyspark", "py4j")


def glue_requirements(text: str) -> str:
    """The pinned Glue set for pip on Glue: every ``name==version`` line but Spark's own."""
    keep = [line for line in text.splitlines()
            if line and not line.startswith((" ", "#")) and line.split("==")[0].strip() not in GLUE_PROVIDED]
    return "\n".join(["# aqicast's Glue 5.0 set, from requirements-glue.txt (deploy/mwaa/build.py)", *keep]) + "\n"


def build(out: Path) -> dict[str, Path]:
    mwaa, glue = out / "mwaa", out / "glue"
    shutil.rmtree(out, ignore_errors=True)
    (mwaa / "dags").mkdir(parents=True)
    glue.mkdir(parents=True)
    for dag in sorted((ROOT / "dags").glob("*.py")):
        shutil.copy2(dag, mwaa / "dags" / dag.name)
    for p in _files(ROOT / "include"):
        dst = mwaa / "dags" / p.relative_to(ROOT)
        dst.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(p, dst)
    (mwaa / "dags" / ".airflowignore").write_text("include/\n")  # not DAG files: do not parse them
    _zip(mwaa / "plugins.zip", ROOT / "plugins" / "aqicast_plugins", ROOT / "plugins")
    shutil.copy2(ROOT / "deploy" / "mwaa" / "requirements.txt", mwaa / "requirements.txt")
    shutil.copy2(ROOT / "deploy" / "mwaa" / "startup.sh", mwaa / "startup.sh")
    shutil.copy2(ROOT / "include" / "glue_job.py", glue / "glue_job.py")
    _zip(glue / "aqicast.zip", ROOT / "include", ROOT)
    (glue / "requirements-glue.txt").write_text(glue_requirements((ROOT / "requirements-glue.txt").read_text()))
    return {"mwaa": mwaa, "glue": glue}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "dist"))
    paths = build(Path(parser.parse_args().out))
    print("\n".join(f"{k}: {v}" for k, v in paths.items()))
