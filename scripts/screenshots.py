"""Screenshots of the Airflow UI for the README (``make screenshots``): the DAG's graph and a run's
grid, taken with Debian's headless Chromium (Selenium, no driver download) from the Airflow of
``make airflow`` (scripts/airflow-local.sh).

Login: the simple auth manager's ``POST /auth/token`` with the generated admin password gives a JWT;
the Airflow 3 UI's requests carry it in the ``_token`` cookie. If the DAG has no successful run yet,
the script bootstraps two weeks of history in the lake (``aqicast etl``) and creates a two-day
backfill with the README's settings through the REST API, then waits for it."""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAG = "aqicast_daily"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--window-size=1600,1000")


def call(base: str, method: str, path: str, token: str | None = None, body: dict | None = None) -> dict:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    req = urllib.request.Request(base + path, json.dumps(body).encode() if body is not None else None, headers,
                                 method=method)
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read() or b"{}")


def token(base: str) -> str:
    password = json.loads((ROOT / ".airflow" / "simple_auth_manager_passwords.json.generated").read_text())["admin"]
    return call(base, "POST", "/auth/token", body={"username": "admin", "password": password})["access_token"]


def successful_run(base: str, tok: str) -> str | None:
    runs = call(base, "GET", f"/api/v2/dags/{DAG}/dagRuns?state=success&order_by=-logical_date&limit=1", tok)
    return runs["dag_runs"][0]["dag_run_id"] if runs.get("dag_runs") else None


def make_runs(base: str, tok: str, start: str, end: str, timeout: float) -> str:
    lake = os.environ.get("AQICAST_LAKE", str(ROOT / "var" / "lake"))
    env = {**os.environ, "AQICAST_LAKE": lake, "PYTHONPATH": f"{ROOT}:{ROOT / 'plugins'}"}
    subprocess.run([sys.executable, "-m", "include.cli", "etl", "--start", "2016-02-10", "--end", "2016-02-24",
                    "--jobs", "2"], env=env, cwd=ROOT, check=True)
    call(base, "PATCH", f"/api/v2/dags/{DAG}", tok, {"is_paused": False})
    body = {"dag_id": DAG, "from_date": f"{start}T00:00:00Z", "to_date": f"{end}T00:00:00Z", "max_active_runs": 1,
            "reprocess_behavior": "completed", "dag_run_conf": {"retrain": "skip"}}
    for attempt in range(12):  # 503 while SQLite is locked by the scheduler: try again
        try:
            call(base, "POST", "/api/v2/backfills", tok, body)
            break
        except urllib.error.HTTPError as exc:
            if exc.code != 503 or attempt == 11:
                raise
            time.sleep(5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if run_id := successful_run(base, tok):
            return run_id
        time.sleep(5)
    raise SystemExit("no successful run of the backfill in time; see .airflow/standalone.log")


def shoot(base: str, tok: str, run_id: str, out: Path) -> list[Path]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = "/usr/bin/chromium"
    for flag in (*FLAGS, f"--user-data-dir={tempfile.mkdtemp(prefix='aqicast-shots-')}"):
        options.add_argument(flag)
    drv = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
    shots = []
    try:
        drv.get(base + "/api/v2/version")  # same origin, so the cookie can be set
        drv.add_cookie({"name": "_token", "value": tok, "path": "/"})
        for view, url, name in (("graph", f"/dags/{DAG}/runs/{run_id}", "airflow-graph.png"),
                                ("grid", f"/dags/{DAG}/runs/{run_id}", "airflow-grid.png")):
            drv.get(base + "/")
            drv.execute_script("localStorage.setItem('default_dag_view', JSON.stringify(arguments[0]))", view)
            drv.get(base + url)
            time.sleep(8)  # the UI renders the graph with an animation
            if "login" in drv.current_url:
                raise SystemExit(f"the UI asked for a login ({drv.current_url}): the token was not accepted")
            path = out / name
            drv.save_screenshot(str(path))
            shots.append(path)
    finally:
        drv.quit()
    return shots


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--base", default=f"http://localhost:{os.environ.get('AIRFLOW_PORT', '8080')}")
    ap.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    ap.add_argument("--from-date", default="2016-02-25")
    ap.add_argument("--to-date", default="2016-02-26")
    ap.add_argument("--timeout", type=float, default=900)
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    tok = token(args.base)
    run_id = successful_run(args.base, tok) or make_runs(args.base, tok, args.from_date, args.to_date, args.timeout)
    for path in shoot(args.base, tok, run_id, args.out):
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
