"""Helpers the benchmarks share (not a benchmark itself)."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import tempfile
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, int(round(q / 100 * len(ordered) + 0.5)) - 1))
    return ordered[k]


def build_lake(prefix: str) -> str:
    """A small lake with published forecasts (the in-repo sample's Indian cities), in a temp folder."""
    from tests.sample_lakes import build_serving_lake

    root = Path(tempfile.mkdtemp(prefix=prefix)) / "lake"
    print(f"building a small lake with forecasts in {root} ...", flush=True)
    return build_serving_lake(root)


def start_server(repo: Path, lake: str, port: int, *, env: dict | None = None, log_path: Path | None = None,
                 timeout_s: float = 60) -> subprocess.Popen:
    """``python -m include.cli serve`` on loopback with ``repo`` first on the path; waits for /health."""
    import httpx

    cmd = [sys.executable, "-m", "include.cli", "serve", "--lake", lake, "--host", "127.0.0.1", "--port", str(port)]
    log = open(log_path, "w") if log_path else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=repo, env={**os.environ, "PYTHONPATH": str(repo), **(env or {})},
                            stdout=log, stderr=subprocess.STDOUT)
    if log_path:
        log.close()
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited ({proc.returncode})" + (f": {log_path.read_text()}" if log_path else ""))
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError(f"the server did not answer /health within {timeout_s:.0f} s")


def write_report(path: str | Path, report: dict, lead: str = "") -> None:
    """Write a bench's JSON report and say where."""
    import json

    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(f"{lead}wrote {out}")
