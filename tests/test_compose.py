"""docker-compose.yaml is valid and wires the local stack as documented. No Docker engine runs
here, so the file is validated with `docker-compose config` (docker-compose 1.29, pure Python, in
the side venv `.venv-compose` that `make test` creates)."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / ".venv-compose" / "bin" / "docker-compose"


def config(path: Path) -> subprocess.CompletedProcess:
    if not COMPOSE.exists():
        pytest.fail(f"{COMPOSE} is missing: run the tests with `make test`, which creates it")
    return subprocess.run([str(COMPOSE), "-f", str(path), "config"], capture_output=True, text=True, cwd=ROOT)


def test_compose_file_is_valid_and_complete():
    out = config(ROOT / "docker-compose.yaml")
    assert out.returncode == 0, out.stderr
    services = yaml.safe_load(out.stdout)["services"]
    assert set(services) == {"postgres", "airflow-init", "airflow-apiserver", "airflow-scheduler",
                             "airflow-dag-processor", "airflow-triggerer"}
    for name in ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer"):
        s = services[name]
        targets = {v["target"] if isinstance(v, dict) else v.split(":")[1] for v in s["volumes"]}
        assert {"/opt/airflow/dags", "/opt/airflow/plugins", "/opt/airflow/include"} <= targets, name
        assert s["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
        assert s["environment"]["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql")
    assert services["airflow-apiserver"]["ports"][0]["target"] == 8080


def test_a_broken_compose_file_is_rejected(tmp_path):
    text = (ROOT / "docker-compose.yaml").read_text().replace("condition: service_healthy",
                                                               "condition: when_it_feels_like_it", 1)
    broken = tmp_path / "docker-compose.yaml"
    broken.write_text(text)
    (tmp_path / "deploy").symlink_to(ROOT / "deploy")
    out = config(broken)
    assert out.returncode != 0 and "condition" in (out.stderr + out.stdout)
