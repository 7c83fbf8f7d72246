"""Load test of the API: a real ``aqicast serve`` (uvicorn, subprocess, 127.0.0.1, a free port)
under N requests at concurrency C, while ``serving/latest.json`` is replaced underneath it.

    python bench/serve_load.py                                  # 20,000 requests, concurrency 32
    python bench/serve_load.py --requests 2000 --concurrency 16 --lake var/lake
    python bench/serve_load.py --replace-every 0.05 --corrupt    # also publish corrupt snapshots

* The client is asyncio + httpx (already a dependency), one pool of C keep-alive connections; each
  of C workers sends requests back to back: forecasts of every city (round robin), city search,
  /health and an unknown city (404). It stops after N requests or --max-seconds, whichever first.
* A writer thread replaces the snapshot every --replace-every seconds, atomically (the lake's
  temp file + rename), alternating two good versions (different ``issued_from``), and with
  --corrupt a truncated one in between; the server re-reads it every --ttl seconds
  (``AQICAST_SNAPSHOT_TTL_S``).
* Reports requests, statuses, 5xx count, transport errors, p50/p90/p99/max latency (client side),
  requests per second, which snapshot versions were served, and the server's warnings; writes
  ``bench/out/serve_load.json``. Exit 1 on any 5xx or transport error (no timing targets).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))
OUT = REPO / "bench" / "out"
sys.path.insert(0, str(REPO / "bench"))
from _common import build_lake as _build_lake, free_port, percentile, start_server as _start_server  # noqa: E402

LATEST = "serving/latest.json"


def start_server(lake: str, port: int, ttl_s: float, log_path: Path, timeout_s: float = 60) -> subprocess.Popen:
    """The API with the snapshot TTL of the run; waits for /health."""
    return _start_server(REPO, lake, port, env={"AQICAST_SNAPSHOT_TTL_S": str(ttl_s)}, log_path=log_path,
                         timeout_s=timeout_s)


def stop_server(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def variants(snapshot: bytes, corrupt: bool) -> list[bytes]:
    """Versions of a snapshot to publish in turn: the original, a second good one (another
    ``issued_from``, so answers show which one was served) and optionally a truncated one."""
    a = json.loads(snapshot)
    b = {**a, "issued_from": "1999-12-31", "forecast_date": "2000-01-01"}
    out = [snapshot, json.dumps(b).encode()]
    if corrupt:
        out.insert(1, snapshot[: len(snapshot) // 2])
    return out


class Replacer(threading.Thread):
    """Replaces the lake's ``serving/latest.json`` every ``every`` seconds, atomically."""

    def __init__(self, lake_root: str, versions: list[bytes], every: float):
        super().__init__(daemon=True)
        from include.lake import Lake

        self.lake, self.versions, self.every = Lake(lake_root), versions, every
        self.stop, self.count = threading.Event(), 0

    def run(self) -> None:
        path = self.lake.path(LATEST)
        while not self.stop.wait(self.every):
            self.count += 1
            self.lake.put_bytes(path, self.versions[self.count % len(self.versions)])

    def finish(self) -> None:
        self.stop.set()
        self.join(10)
        self.lake.put_bytes(self.lake.path(LATEST), self.versions[0])  # leave the original in place


def request_paths(cities: list[dict]) -> list[str]:
    paths = [f"/v1/forecast/{c['city_id']}" for c in cities] + [f"/v1/forecast/{c['city']}" for c in cities[:5]]
    paths += ["/v1/cities", "/v1/cities?prefix=" + cities[0]["city"][:2], "/health", "/v1/forecast/Atlantis"]
    return paths


async def _load(base: str, paths: list[str], n: int, concurrency: int, max_s: float) -> dict:
    import httpx

    times: list[float] = []
    statuses: dict[int, int] = {}
    errors: list[str] = []
    issued: dict[str, int] = {}
    bad_5xx: list[str] = []
    sent = 0
    deadline = time.monotonic() + max_s
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, timeout=30, limits=limits) as client:
        async def worker() -> None:
            nonlocal sent
            while sent < n and time.monotonic() < deadline:
                path = paths[sent % len(paths)]
                sent += 1
                t0 = time.perf_counter()
                try:
                    r = await client.get(path)
                except httpx.HTTPError as exc:
                    errors.append(f"{path}: {type(exc).__name__}: {exc}")
                    continue
                times.append((time.perf_counter() - t0) * 1000)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if r.status_code >= 500:
                    bad_5xx.append(f"{path}: {r.status_code} {r.text[:200]}")
                elif r.status_code == 200 and path.startswith("/v1/forecast/"):
                    day = r.json()["issued_from"]
                    issued[day] = issued.get(day, 0) + 1

        t_start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - t_start
    return {"requests": len(times) + len(errors), "concurrency": concurrency, "statuses": statuses,
            "count_5xx": len(bad_5xx), "examples_5xx": bad_5xx[:5], "transport_errors": len(errors),
            "examples_errors": errors[:5], "served_issued_from": issued,
            "p50_ms": percentile(times, 50), "p90_ms": percentile(times, 90), "p99_ms": percentile(times, 99),
            "max_ms": max(times), "seconds": elapsed, "rps": len(times) / elapsed,
            "time_bounded": len(times) + len(errors) < n}


def run_load(lake: str, *, requests: int = 20000, concurrency: int = 32, ttl_s: float = 0.05,
             replace_every: float | None = 0.1, corrupt: bool = False, max_s: float = 300.0,
             log_path: Path | None = None) -> dict:
    """Start a server on ``lake``, load it while replacing the snapshot, stop it; the report."""
    import httpx

    snapshot = Path(lake, LATEST).read_bytes()
    log_path = log_path or Path(tempfile.mkstemp(prefix="aqicast-serve-", suffix=".log")[1])
    port = free_port()
    server = start_server(lake, port, ttl_s, log_path)
    replacer = None
    try:
        base = f"http://127.0.0.1:{port}"
        cities = httpx.get(f"{base}/v1/cities", params={"limit": 100}, timeout=10).json()
        if replace_every:
            replacer = Replacer(lake, variants(snapshot, corrupt), replace_every)
            replacer.start()
        report = asyncio.run(_load(base, request_paths(cities), requests, concurrency, max_s))
    finally:
        if replacer:
            replacer.finish()
        stop_server(server)
    server_log = log_path.read_text(errors="replace")
    report.update(replacements=replacer.count if replacer else 0, ttl_s=ttl_s, replace_every_s=replace_every,
                  corrupt_versions=corrupt, server_log=str(log_path),
                  server_warnings=sum("WARNING" in line for line in server_log.splitlines()),
                  server_tracebacks=server_log.count("Traceback"))
    return report


def summary(r: dict) -> str:
    return (f"{r['requests']} requests at concurrency {r['concurrency']} in {r['seconds']:.1f}s ({r['rps']:.0f}/s): "
            f"statuses {dict(sorted(r['statuses'].items()))}, 5xx {r['count_5xx']}, transport errors "
            f"{r['transport_errors']}; p50 {r['p50_ms']:.1f} ms, p90 {r['p90_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms, "
            f"max {r['max_ms']:.1f} ms; snapshot replaced {r['replacements']} times (TTL {r['ttl_s']} s, corrupt "
            f"versions {'yes' if r['corrupt_versions'] else 'no'}), served issued_from {r['served_issued_from']}; "
            f"server warnings {r['server_warnings']}, tracebacks {r['server_tracebacks']}")


def build_lake() -> str:
    return _build_lake("aqicast-serve-load-")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--lake", help="a lake with serving/latest.json (default: build a small one; it is modified "
                                   "during the run and restored at the end)")
    ap.add_argument("--requests", type=int, default=20000)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--ttl", type=float, default=0.05, help="the server's snapshot TTL, seconds")
    ap.add_argument("--replace-every", type=float, default=0.1, help="seconds between snapshot replacements (0: none)")
    ap.add_argument("--corrupt", action="store_true", help="also publish a truncated snapshot in the rotation")
    ap.add_argument("--max-seconds", type=float, default=300.0)
    ap.add_argument("--out", default=str(OUT / "serve_load.json"))
    args = ap.parse_args(argv)
    lake = str(Path(args.lake).resolve()) if args.lake else build_lake()
    if not Path(lake, LATEST).is_file():
        raise SystemExit(f"{lake} has no {LATEST}: run `make run` or omit --lake")
    report = run_load(lake, requests=args.requests, concurrency=args.concurrency, ttl_s=args.ttl,
                      replace_every=args.replace_every or None, corrupt=args.corrupt, max_s=args.max_seconds)
    print(summary(report))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2))
    print(f"report: {args.out}")
    return 0 if report["count_5xx"] == 0 and report["transport_errors"] == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
