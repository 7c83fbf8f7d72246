"""API benchmark: latency of GET /v1/forecast/{city} on a local server, and the Lambda handler's cold import.

    python bench/api_bench.py                      # builds a small lake (8 sample days, 16 cities)
    python bench/api_bench.py --lake var/lake      # or any lake with serving/latest.json
    python bench/api_bench.py --requests 500 --imports 3
    python bench/api_bench.py --baseline-repo ../main   # also the same requests to another checkout's API

1. Starts ``aqicast serve`` (uvicorn) in a subprocess on 127.0.0.1 with a free port, warms up, then
   sends N sequential GETs (bounded by --max-seconds) over one keep-alive httpx connection and
   reports p50/p90/p99/max and requests per second, client side.
2. Cold import: ``import include.serving.lambda_handler`` in a fresh interpreter (AQICAST_SERVING_ROOT
   = the lake, AQICAST_BACKEND=local), timed inside the process, median of --imports runs; the same
   for ``import json`` as a baseline, and the wall time of the whole process vs a bare ``python -c
   pass``. One more run with ``-X importtime`` names the modules that dominate.
With ``--baseline-repo``, the same lake is also served by that checkout's code (e.g. main before a
change), measured in the same run, baseline first, then this tree's API again on a name in another
script and another language (``--extra-path``); then both apps in this one process, in alternating
rounds of 100 requests through Starlette's TestClient (machine load hits both alike, which separate
servers on a shared machine do not). The report gives p50 and p99 as ratios to the baseline.

3. Prints a table and writes ``bench/out/api_bench.json``. Targets (reported, not asserted):
   p99 < 20 ms, handler import < 0.5 s.
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO / "bench"))
from _common import build_lake as _build_lake, free_port, percentile, start_server as _start_server, write_report  # noqa: E402

TARGET_P99_MS, TARGET_IMPORT_S = 20.0, 0.5
HANDLER = "include.serving.lambda_handler"


def start_server(lake: str, port: int) -> subprocess.Popen:
    return _start_server(REPO, lake, port, timeout_s=30)


def latency(base: str, city: str | None, n: int, warmup: int, max_s: float, path: str | None = None) -> dict:
    import httpx

    with httpx.Client(base_url=base, timeout=10, http2=False) as client:  # one keep-alive connection
        if city is None and path is None:
            city = client.get("/v1/cities", params={"limit": 1}).json()[0]["city"]
        path = path or f"/v1/forecast/{city}"
        first = client.get(path)
        first.raise_for_status()
        for _ in range(warmup):
            client.get(path).raise_for_status()
        times, statuses = [], set()
        deadline = time.perf_counter() + max_s
        t_start = time.perf_counter()
        for _ in range(n):
            t0 = time.perf_counter_ns()
            r = client.get(path)
            r.read()
            times.append((time.perf_counter_ns() - t0) / 1e6)
            statuses.add(r.status_code)
            if time.perf_counter() > deadline:
                break
        elapsed = time.perf_counter() - t_start
    return {"path": path, "requests": len(times), "warmup": warmup, "statuses": sorted(statuses),
            "body_bytes": len(first.content), "p50_ms": percentile(times, 50), "p90_ms": percentile(times, 90),
            "p99_ms": percentile(times, 99), "max_ms": max(times), "mean_ms": statistics.fmean(times),
            "rps": len(times) / elapsed, "time_bounded": len(times) < n}


def timed_import(module: str | None, env: dict) -> tuple[float, float, bool]:
    """(seconds inside the process for the import, wall seconds of the whole process, pandas loaded)."""
    code = ("import sys, time\nt = time.perf_counter()\n"
            + (f"import {module}\n" if module else "")
            + "print(time.perf_counter() - t, 'pandas' in sys.modules)")
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    wall = time.perf_counter() - t0
    seconds, pandas = out.stdout.split()
    return float(seconds), wall, pandas == "True"


def import_times(lake: str, runs: int) -> dict:
    env = {**os.environ, "AQICAST_SERVING_ROOT": lake, "AQICAST_BACKEND": "local", "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONPROFILEIMPORTTIME", None)
    result = {}
    for name, module in (("handler", HANDLER), ("json", "json"), ("bare", None)):
        timed_import(module, env)  # once to warm the OS file cache and the .pyc files
        samples = [timed_import(module, env) for _ in range(runs)]
        result[name] = {"import_s": statistics.median(s[0] for s in samples),
                        "process_s": statistics.median(s[1] for s in samples),
                        "pandas_loaded": any(s[2] for s in samples), "runs": runs}
    # which modules dominate: -X importtime, cumulative microseconds
    err = subprocess.run([sys.executable, "-X", "importtime", "-c", f"import {HANDLER}"], cwd=REPO, env=env,
                         capture_output=True, text=True, check=True).stderr
    rows = []
    for line in err.splitlines():
        m = re.match(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)", line)
        if m:
            rows.append((int(m.group(2)), int(m.group(1)), len(m.group(3)) // 2, m.group(4)))
    by_package: dict[str, int] = {}
    for _cum, self_us, _depth, mod in rows:
        top = mod.split(".")[0]
        by_package[top] = by_package.get(top, 0) + self_us
    result["dominant_modules"] = [{"module": m, "cumulative_ms": c / 1000, "depth": d}
                                  for c, _s, d, m in sorted(rows, reverse=True)[:12]]
    result["by_top_package_ms"] = {k: v / 1000 for k, v in sorted(by_package.items(), key=lambda kv: -kv[1])[:12]}
    return result


def build_lake() -> str:
    return _build_lake("aqicast-api-bench-")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lake", help="a lake with serving/latest.json (default: build a small one)")
    ap.add_argument("--city", help="city to ask for (default: the first of /v1/cities)")
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--warmup", type=int, default=200)
    ap.add_argument("--max-seconds", type=float, default=30.0, help="stop measuring after this long")
    ap.add_argument("--imports", type=int, default=5, help="fresh interpreters per import measurement")
    ap.add_argument("--out", default=str(OUT / "api_bench.json"))
    ap.add_argument("--baseline-repo", help="another checkout (e.g. ../main) whose API is measured on the same lake")
    ap.add_argument("--extra-path", default="/v1/forecast/孟买?lang=zh-Hans",
                    help="with --baseline-repo: one more path measured on this tree's API")
    args = ap.parse_args(argv)

    lake = str(Path(args.lake).resolve()) if args.lake else build_lake()
    try:
        return run(args, lake)
    finally:
        if not args.lake:
            shutil.rmtree(Path(lake).parent, ignore_errors=True)


def in_process(baseline_repo: Path, lake: str, path: str, rounds: int = 20, per_round: int = 100) -> dict:
    """Both APIs in this one process (the baseline's ``service.py`` and ``app.py`` loaded from its
    checkout under other module names), called through Starlette's TestClient in alternating rounds
    so that machine load hits both alike: p50/p99 of each and their ratios."""
    import importlib.util
    import types

    from fastapi.testclient import TestClient

    from include.serving.app import create_app
    from include.serving.service import ForecastService
    from include.serving.store import LocalStore

    serving = baseline_repo / "include" / "serving"
    spec = importlib.util.spec_from_file_location("baseline_service", serving / "service.py")
    service = importlib.util.module_from_spec(spec)
    sys.modules["baseline_service"] = service
    spec.loader.exec_module(service)
    app = types.ModuleType("baseline_app")
    app.__file__ = str(serving / "app.py")
    sys.modules["baseline_app"] = app  # pydantic resolves the models' annotations through it
    source = (serving / "app.py").read_text().replace("from include.serving.service import", "from baseline_service import")
    exec(compile(source, app.__file__, "exec"), app.__dict__)  # noqa: S102 - our own other checkout
    clients = {"baseline": TestClient(app.create_app(service.ForecastService(LocalStore(lake)))),
               "this tree": TestClient(create_app(ForecastService(LocalStore(lake))))}
    for client in clients.values():
        for _ in range(per_round):
            client.get(path).raise_for_status()
    times: dict[str, list[float]] = {k: [] for k in clients}
    for _ in range(rounds):
        for name, client in clients.items():
            for _ in range(per_round):
                t0 = time.perf_counter_ns()
                client.get(path).raise_for_status()
                times[name].append((time.perf_counter_ns() - t0) / 1e6)
    out = {k: {"p50_ms": percentile(v, 50), "p99_ms": percentile(v, 99), "requests": len(v)} for k, v in times.items()}
    out["p50_ratio"] = out["this tree"]["p50_ms"] / out["baseline"]["p50_ms"]
    out["p99_ratio"] = out["this tree"]["p99_ms"] / out["baseline"]["p99_ms"]
    out["path"] = path
    return out


def measured(repo: Path, lake: str, args, path: str | None = None) -> dict:
    port = free_port()
    server = _start_server(repo, lake, port, timeout_s=30)
    try:
        return latency(f"http://127.0.0.1:{port}", args.city, args.requests, args.warmup, args.max_seconds, path)
    finally:
        server.terminate()
        try:
            server.wait(10)
        except subprocess.TimeoutExpired:
            server.kill()


def run(args, lake: str) -> int:
    if not (Path(lake) / "serving" / "latest.json").is_file():
        raise SystemExit(f"{lake} has no serving/latest.json: run `make run` or omit --lake")
    baseline = measured(Path(args.baseline_repo).resolve(), lake, args) if args.baseline_repo else None
    lat = measured(REPO, lake, args)
    extra = measured(REPO, lake, args, args.extra_path) if args.baseline_repo else None
    same = (in_process(Path(args.baseline_repo).resolve(), lake, f"/v1/forecast/{args.city or 'Delhi'}")
            if args.baseline_repo else None)
    imp = import_times(lake, args.imports)

    h, j, b = imp["handler"], imp["json"], imp["bare"]
    report = {
        "latency": lat, "imports": imp, "lake": lake,
        "targets": {"p99_ms": TARGET_P99_MS, "handler_import_s": TARGET_IMPORT_S},
        "meets": {"p99": lat["p99_ms"] < TARGET_P99_MS, "handler_import": h["import_s"] < TARGET_IMPORT_S},
        "ratios": {"handler_vs_json_import": h["import_s"] / j["import_s"],
                   "handler_vs_bare_process": h["process_s"] / b["process_s"]},
        "python": sys.version.split()[0], "platform": platform.platform(), "cpus": os.cpu_count(),
    }
    if baseline:
        report["baseline"] = {"repo": str(Path(args.baseline_repo).resolve()), "latency": baseline, "extra": extra,
                              "p99_ratio": lat["p99_ms"] / baseline["p99_ms"], "p50_ratio": lat["p50_ms"] / baseline["p50_ms"],
                              "in_process": same}
    ok = lambda flag: "ok" if flag else "OVER"  # noqa: E731
    print(f"\nGET {lat['path']}  ({lat['requests']} sequential requests on one keep-alive connection, "
          f"{lat['warmup']} warm-up; statuses {lat['statuses']}; {lat['body_bytes']} B body)")
    print(f"{'metric':34} {'value':>12} {'target':>10}")
    print(f"{'p50 latency':34} {lat['p50_ms']:>9.2f} ms")
    print(f"{'p90 latency':34} {lat['p90_ms']:>9.2f} ms")
    print(f"{'p99 latency':34} {lat['p99_ms']:>9.2f} ms {'< 20 ms':>10}  {ok(report['meets']['p99'])}")
    print(f"{'max latency':34} {lat['max_ms']:>9.2f} ms")
    print(f"{'throughput (1 client)':34} {lat['rps']:>8.0f} r/s")
    if baseline:
        b_ = report["baseline"]
        print(f"{'baseline p50 / p99 (' + Path(args.baseline_repo).name + ')':34} {baseline['p50_ms']:>9.2f} / "
              f"{baseline['p99_ms']:.2f} ms   this tree / baseline: p50 x{b_['p50_ratio']:.2f}, p99 x{b_['p99_ratio']:.2f}")
        print(f"{'this tree, ' + extra['path'][:22]:34} {extra['p50_ms']:>9.2f} / {extra['p99_ms']:.2f} ms (p50 / p99), "
              f"statuses {extra['statuses']}")
        print(f"{'same process, alternating rounds':34} baseline {same['baseline']['p50_ms']:.2f} / "
              f"{same['baseline']['p99_ms']:.2f} ms, this tree {same['this tree']['p50_ms']:.2f} / "
              f"{same['this tree']['p99_ms']:.2f} ms: p50 x{same['p50_ratio']:.2f}, p99 x{same['p99_ratio']:.2f}")
    print(f"\ncold import, median of {h['runs']} fresh interpreters")
    print(f"{'import ' + HANDLER:34} {h['import_s']:>10.3f} s {'< 0.5 s':>10}  {ok(report['meets']['handler_import'])}"
          f"   (pandas loaded: {h['pandas_loaded']})")
    print(f"{'import json (baseline)':34} {j['import_s'] * 1000:>9.2f} ms   ratio {report['ratios']['handler_vs_json_import']:.0f}x")
    print(f"{'whole process: handler':34} {h['process_s']:>10.3f} s")
    print(f"{'whole process: bare python':34} {b['process_s']:>10.3f} s   ratio {report['ratios']['handler_vs_bare_process']:.1f}x")
    print("\nimport time by top-level package (self time, ms): "
          + ", ".join(f"{k} {v:.0f}" for k, v in list(imp["by_top_package_ms"].items())[:8]))
    print("largest cumulative imports (ms): "
          + ", ".join(f"{d['module']} {d['cumulative_ms']:.0f}" for d in imp["dominant_modules"][:8]))
    write_report(args.out, report, "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
