"""The API's Lambda package (``make lambda``): unzipped into a clean venv of the runtime's Python,
with nothing from this repo or its venv on the path, it answers API Gateway HTTP API (payload
2.0) events from a local snapshot through the handler Lambda calls."""
from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
_spec = importlib.util.spec_from_file_location("lambda_build", ROOT / "deploy" / "lambda" / "build.py")
lambda_build = importlib.util.module_from_spec(_spec)  # deploy/lambda/build.py
_spec.loader.exec_module(lambda_build)

#: Runs inside the clean venv (python -I: no PYTHONPATH, no user site, no cwd on the path). It puts
#: the unzipped package first on sys.path, as Lambda does with /var/task, and calls the handler.
DRIVER = textwrap.dedent("""
    import importlib, json, sys
    task = sys.argv[1]
    sys.path.insert(0, task)
    events = json.loads(sys.stdin.read())
    module, _, name = sys.argv[2].rpartition(".")
    handler = getattr(importlib.import_module(module), name)

    class Context:  # what Mangum reads of the Lambda context
        function_name, aws_request_id, invoked_function_arn = "aqicast-api", "req-1", "arn:aws:lambda:::function:aqicast-api"
        def get_remaining_time_in_millis(self):
            return 30000

    out = [handler(e, Context()) for e in events]
    heavy = [m for m in ("pandas", "numpy", "pyarrow", "airflow", "include.lake", "include.etl") if m in sys.modules]
    files = sorted({m.__file__ for m in list(sys.modules.values()) if getattr(m, "__file__", None)
                    and "site-packages" in m.__file__})
    print(json.dumps({"responses": out, "heavy": heavy, "site_packages_modules": files}))
""")


def http_event(path: str, query: str = "") -> dict:
    """An API Gateway HTTP API event, payload format 2.0, as the Lambda integration sends it."""
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": query,
        "cookies": [], "headers": {"accept": "application/json", "host": "abc123.execute-api.us-east-1.amazonaws.com",
                                   "user-agent": "pytest", "x-forwarded-proto": "https", "x-forwarded-port": "443"},
        "queryStringParameters": dict(p.split("=", 1) for p in query.split("&")) if query else None,
        "requestContext": {"accountId": "123456789012", "apiId": "abc123", "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
                           "domainPrefix": "abc123", "http": {"method": "GET", "path": path, "protocol": "HTTP/1.1",
                                                               "sourceIp": "192.0.2.1", "userAgent": "pytest"},
                           "requestId": "id-1", "routeKey": "$default", "stage": "$default",
                           "time": "11/Jan/2019:06:00:00 +0000", "timeEpoch": 1547186400000},
        "isBase64Encoded": False,
    }


@pytest.fixture(scope="module")
def package() -> Path:
    return lambda_build.build()  # cached: rebuilt only when requirements-lambda.txt or a packaged file changed


@pytest.fixture(scope="module")
def clean_python(tmp_path_factory) -> Path:
    """A venv of the runtime's Python version without pip or any package."""
    if sys.version_info[:2] == tuple(int(x) for x in lambda_build.PYTHON_VERSION.split(".")):
        base = sys._base_executable  # noqa: SLF001  (the interpreter this venv was made from)
    else:
        base = subprocess.run([str(ROOT / "scripts" / "find-python.sh"), lambda_build.PYTHON_VERSION],
                              capture_output=True, text=True, check=True).stdout.strip()
    venv = tmp_path_factory.mktemp("lambda-venv")
    subprocess.run([base, "-m", "venv", "--without-pip", str(venv)], check=True)
    return venv / "bin" / "python"


def test_package_is_the_serving_code_and_wheels_only_within_lambda_limits(package):
    with zipfile.ZipFile(package) as z:
        names = z.namelist()
    tops = {n.split("/")[0] for n in names}
    assert {"fastapi", "mangum", "PIL", "pydantic", "pydantic_core", "starlette", "boto3", "include"} <= tops
    assert not tops & set(lambda_build.FORBIDDEN)
    ours = sorted(n for n in names if n.startswith("include/") and n.endswith(".py"))
    assert all(n.startswith("include/serving/") or n.count("/") == 1 for n in ours), ours
    assert not [n for n in ours if n.split("/")[1] in ("etl", "training", "forecast", "backends", "app", "lake.py")]
    assert "include/serving/static/index.html" in names
    assert any(n.startswith("include/serving/fonts/NotoSans") for n in names)
    # manylinux x86_64 wheels of CPython 3.12, not this machine's build of anything
    so = [n for n in names if n.endswith(".so")]
    assert so and all("cpython-312-x86_64-linux-gnu" in n or "/pillow.libs/" in f"/{n}" or ".abi3." in n for n in so), so
    sizes = lambda_build.sizes(package)
    assert sizes["zipped"] < sizes["limit_zipped"] and sizes["unzipped"] < sizes["limit_unzipped"]


def test_package_answers_api_gateway_events_from_a_local_snapshot(package, clean_python, tmp_path_factory, lake_cache):
    from tests.sample_lakes import DAY, build_serving_lake

    lake = build_serving_lake(tmp_path_factory.mktemp("lambda") / "lake", days=2, cache=lake_cache)
    snapshot = json.loads(next(Path(lake).rglob("latest.json")).read_text())
    city = snapshot["cities"][0]
    task = tmp_path_factory.mktemp("task")
    with zipfile.ZipFile(package) as z:
        z.extractall(task)
    events = [http_event("/health"), http_event("/v1/cities", "prefix=&limit=100"),
              http_event(f"/v1/forecast/{city['city']}"), http_event("/v1/forecast/Atlantis")]
    env = {"AQICAST_BACKEND": "local", "AQICAST_SERVING_ROOT": lake, "PATH": "/usr/bin:/bin", "HOME": str(task)}
    run = subprocess.run([str(clean_python), "-I", "-c", DRIVER, str(task), lambda_build.HANDLER],
                         input=json.dumps(events), capture_output=True, text=True, env=env, cwd=task, timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    out = json.loads(run.stdout)
    health, cities, forecast, unknown = out["responses"]
    assert out["heavy"] == []
    assert all(str(task) in f for f in out["site_packages_modules"]) and not any(
        str(ROOT / ".venv") in f for f in out["site_packages_modules"])

    assert health["statusCode"] == 200
    assert json.loads(health["body"]) == {"status": "ok", "issued_from": DAY.isoformat(), "cities": len(snapshot["cities"])}
    assert cities["statusCode"] == 200 and cities["headers"]["content-type"] == "application/json"
    listed = json.loads(cities["body"])
    assert {c["city_id"] for c in listed} == {c["city_id"] for c in snapshot["cities"][:100]}
    assert forecast["statusCode"] == 200
    body = json.loads(forecast["body"])
    # the headline value is on the city's national scale where it has one; the US value is always there
    assert (body["city_id"], body["city"], body["scales"]["us"]["aqi"]) == (city["city_id"], city["city"], city["aqi_pred"])
    assert body["forecast_date"] == snapshot["forecast_date"] and body["color"].startswith("#")
    assert len(body["history"]) == len(city["history"])
    assert unknown["statusCode"] == 404 and "suggestions" in json.loads(unknown["body"])
