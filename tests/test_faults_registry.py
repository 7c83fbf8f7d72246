"""Concurrent registrations in the file registry never share a version number: 8 threads, 8
processes (local disk), and 8 threads on an S3 lake (moto server, conditional PUT)."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from include.lake import Lake
from include.training.registry import APPROVED, PENDING, LocalRegistry, champion

REPO = Path(__file__).resolve().parents[1]
N = 8


def register_at_once(registry: LocalRegistry, n: int = N) -> list[int]:
    barrier = threading.Barrier(n)

    def one(i: int) -> int:
        barrier.wait()
        return registry.register(f"model-{i}".encode(), status=PENDING, metrics={"mae": float(i)},
                                 properties={"writer": i}).version

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def assert_distinct_and_readable(registry: LocalRegistry, versions: list[int], n: int = N) -> None:
    assert sorted(versions) == list(range(1, n + 1)), versions
    listed = registry.versions()
    assert [v.version for v in listed] == list(range(1, n + 1))
    for v in listed:  # each version is one writer's, artifact and metadata together
        i = v.properties["writer"]
        assert registry.load_artifact(v) == f"model-{i}".encode() and v.metrics == {"mae": float(i)}
    assert len({v.properties["writer"] for v in listed}) == n


def test_threads_get_distinct_versions(tmp_path):
    registry = LocalRegistry(Lake(str(tmp_path / "lake")))
    versions = register_at_once(registry)
    assert_distinct_and_readable(registry, versions)
    print(f"\n{N} concurrent registrations (threads) -> versions {sorted(versions)}")


def test_claimed_but_unfinished_version_is_skipped_not_reused(tmp_path):
    """A registration that died after its claim (no package.json) is invisible and its number is
    never handed out again."""
    lake = Lake(str(tmp_path / "lake"))
    registry = LocalRegistry(lake)
    registry.register(b"one", status=APPROVED, metrics={}, properties={})
    assert lake.put_new(lake.path("registry", registry.group, "v0002", LocalRegistry.CLAIM), b"{}")
    v = registry.register(b"three", status=APPROVED, metrics={}, properties={})
    assert v.version == 3 and [x.version for x in registry.versions()] == [1, 3]
    assert champion(registry).version == 3


CHILD = """
import os, sys, time
from include.lake import Lake
from include.training.registry import PENDING, LocalRegistry
root, go, i = sys.argv[1], sys.argv[2], int(sys.argv[3])
registry = LocalRegistry(Lake(root))
registry.versions()  # warm: imports and first listing before the start line
while not os.path.exists(go):
    time.sleep(0.001)
v = registry.register(f"model-{i}".encode(), status=PENDING, metrics={"mae": float(i)}, properties={"writer": i})
print(v.version)
"""


def test_processes_get_distinct_versions(tmp_path):
    root, go = str(tmp_path / "lake"), tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    procs = [subprocess.Popen([sys.executable, "-c", CHILD, root, str(go), str(i)], env=env, cwd=REPO,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for i in range(N)]
    time.sleep(1.5)  # let them all reach the start line
    go.touch()
    outs = [p.communicate(timeout=60) for p in procs]
    assert all(p.returncode == 0 for p in procs), [o[1] for o in outs]
    versions = [int(o[0].strip()) for o in outs]
    assert_distinct_and_readable(LocalRegistry(Lake(root)), versions)
    print(f"\n{N} concurrent registrations (processes) -> versions {sorted(versions)}")


@pytest.fixture
def s3_lake(moto_server):
    import boto3

    boto3.client("s3").create_bucket(Bucket="aqicast-lake")
    yield Lake("s3://aqicast-lake/lake")


def test_put_new_on_s3_is_exclusive(s3_lake):
    path = s3_lake.path("registry", "g", "v0001", "claim.json")
    assert s3_lake.put_new(path, b"first") is True
    assert s3_lake.put_new(path, b"second") is False
    assert s3_lake.get_bytes(path) == b"first"


def test_threads_on_s3_get_distinct_versions(s3_lake):
    registry = LocalRegistry(s3_lake)
    versions = register_at_once(registry)
    assert_distinct_and_readable(registry, versions)
