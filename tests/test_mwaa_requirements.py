"""Tested environment = deployed environment (README "Environments").

* deploy/mwaa/requirements.txt resolves, for Python 3.12, against the MWAA constraints vendored in
  deploy/mwaa/ (the ones its ``--constraint`` line names), without moving any pin of
  mwaa_essential_constraints.txt (MWAA refuses to let a requirements file override those);
* what it installs is what the tests run: its pins equal requirements.txt's;
* requirements.txt itself is the MWAA set: compiled for 3.12 against those constraints, and this
  venv runs it.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MWAA = ROOT / "deploy" / "mwaa"
CONSTRAINTS = MWAA / "constraints-3.3.1-py3.12.txt"
ESSENTIAL = MWAA / "mwaa_essential_constraints.txt"
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._\-]*)(?:\[[^\]]*\])?==([^\s;#]+)")


def canon(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> dict[str, str]:
    return {canon(m.group(1)): m.group(2) for line in text.splitlines() if (m := PIN.match(line.strip()))}


def uv() -> str:
    path = Path(sys.executable).with_name("uv")
    return str(path) if path.exists() else shutil.which("uv") or pytest.fail("uv is not installed (make venv)")


def test_vendored_constraints_are_the_ones_mwaa_installs_with():
    req = (MWAA / "requirements.txt").read_text()
    (url,) = re.findall(r'^--constraint "([^"]+)"', req, flags=re.M)
    assert url in CONSTRAINTS.read_text()  # the file says where it was copied from
    constraints, essential = pins(CONSTRAINTS.read_text()), pins(ESSENTIAL.read_text())
    assert essential["apache-airflow"] == "3.3.1"
    assert constraints["apache-airflow-providers-amazon"] == "9.34.0"
    # where both pin a package (MWAA adds a few of its own, e.g. fluent-logger), they agree
    assert {k: v for k, v in essential.items() if constraints.get(k) not in (None, v)} == {}
    assert len(set(essential) & set(constraints)) >= 20


def test_mwaa_requirements_resolve_against_the_constraints_without_moving_an_essential_pin(tmp_path):
    essential = pins(ESSENTIAL.read_text())
    ours = [line for line in (MWAA / "requirements.txt").read_text().splitlines()
            if line.strip() and not line.lstrip().startswith(("#", "--constraint", "-c"))]
    # MWAA's image has the essential packages installed: they are requirements, at their pins
    (tmp_path / "in.txt").write_text("\n".join(ours + [f"{k}=={v}" for k, v in essential.items()]) + "\n")
    run = subprocess.run([uv(), "pip", "compile", "--quiet", "--python-version", "3.12", "--no-header",
                          "--no-annotate", "-c", str(CONSTRAINTS), str(tmp_path / "in.txt")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert run.returncode == 0, f"deploy/mwaa/requirements.txt does not resolve on MWAA 3.3.1:\n{run.stderr[-3000:]}"
    resolved = pins(run.stdout)
    moved = {k: (v, resolved.get(k)) for k, v in essential.items() if resolved.get(k) != v}
    assert moved == {}, f"would move MWAA's essential pins: {moved}"
    # what MWAA installs for aqicast is what the tests run with
    tested = pins((ROOT / "requirements.txt").read_text())
    for name in (pins("\n".join(ours)) | {canon(n): "" for n in ("s3fs", "fsspec")}):
        assert resolved[name] == tested[name], f"{name}: MWAA gets {resolved[name]}, tests run {tested[name]}"


def test_requirements_txt_is_the_mwaa_set_and_this_venv_runs_it():
    header = (ROOT / "requirements.txt").read_text().splitlines()[:3]
    assert any("--python-version 3.12" in line for line in header), header
    src = (ROOT / "requirements.in").read_text()
    assert "-c deploy/mwaa/constraints-3.3.1-py3.12.txt" in src and "-c deploy/mwaa/mwaa_essential_constraints.txt" in src
    tested, constraints = pins((ROOT / "requirements.txt").read_text()), pins(CONSTRAINTS.read_text())
    differ = {k: (v, constraints[k]) for k, v in tested.items() if k in constraints and constraints[k] != v}
    assert differ == {}
    from importlib.metadata import version

    assert sys.version_info[:2] == (3, 12)
    for dist in ("apache-airflow", "apache-airflow-providers-amazon", "pandas", "sqlalchemy", "great-expectations"):
        assert version(dist) == tested[dist], dist
