"""The session's cache of sample lakes (``tests.sample_lakes.LakeCache``) on a stand-in for the
ETL: each recipe is built once, from the longest recipe built that it starts with; a build keeps
the checkpoints and the requested recipes it passes through; every user gets its own copy."""
from __future__ import annotations

import threading
import time

import pytest

from tests import sample_lakes
from tests.sample_lakes import LakeCache


class Runs(list):
    """The steps run, in order; each step leaves a file named after it in the lake. ``before[day]``
    is called before that day's step."""

    def __init__(self):
        super().__init__()
        self.before = {}

    def __call__(self, root, steps):
        root.mkdir(parents=True, exist_ok=True)
        for op, day in steps:
            self.before.get(day, lambda: None)()
            if day == "broken":
                raise ValueError("a broken step")
            (root / f"{op}-{day}").write_text(day)
            self.append(day)


@pytest.fixture
def runs(monkeypatch):
    runs = Runs()
    monkeypatch.setattr(sample_lakes, "_run", runs)
    return runs


def wait_until(predicate, timeout=30):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline
        time.sleep(0.01)


def steps(*days):
    return [["etl", d] for d in days]


def names(path):
    return sorted(p.name for p in path.iterdir())


def test_a_recipe_is_built_once_and_a_longer_one_continues_it(runs, tmp_path):
    cache = LakeCache(tmp_path / "cache", checkpoints=[])
    a = cache.copy(steps("1", "2"), tmp_path / "a")
    b = cache.copy(steps("1", "2"), tmp_path / "b")
    c = cache.copy(steps("1", "2", "3"), tmp_path / "c")
    assert runs == ["1", "2", "3"]
    assert names(a) == names(b) == ["etl-1", "etl-2"] and names(c) == ["etl-1", "etl-2", "etl-3"]
    (a / "etl-1").write_text("changed by a test")  # a copy: neither the cache nor another user sees it
    assert (cache.copy(steps("1", "2"), tmp_path / "d") / "etl-1").read_text() == "1"
    assert cache.copy(steps("2"), tmp_path / "e") and runs == ["1", "2", "3", "2"]  # not a beginning: built anew


def test_a_build_keeps_the_checkpoints_it_passes(runs, tmp_path):
    cache = LakeCache(tmp_path / "cache", checkpoints=[steps("1"), steps("1", "2"), steps("9")])
    cache.copy(steps("1", "2", "3"), tmp_path / "long")
    assert names(cache.copy(steps("1"), tmp_path / "short")) == ["etl-1"]
    assert names(cache.copy(steps("1", "2"), tmp_path / "mid")) == ["etl-1", "etl-2"]
    assert runs == ["1", "2", "3"]


def test_concurrent_requests_share_one_build(runs, tmp_path):
    """Three workers: the long recipe's build is under way when the short one (which it passes
    through) and the long one again are asked for; both wait for it."""
    cache = LakeCache(tmp_path / "cache", checkpoints=[])
    long, short = steps(*"123456"), steps(*"123")
    requested = {}

    def index():
        path = cache.root / "index.json"
        return path.read_text() if path.exists() else ""

    def get(name, recipe):
        requested[name] = names(LakeCache(cache.root, checkpoints=[]).copy(recipe, tmp_path / name))

    others = [threading.Thread(target=get, args=("short", short)), threading.Thread(target=get, args=("again", long))]

    def start_the_others():  # while the long build is at its second step
        for t in others:
            t.start()
        wait_until(lambda: LakeCache.key(short) in index() and len(runs) == 1)
        time.sleep(0.3)  # the second request polls the index meanwhile

    runs.before["2"] = start_the_others
    get("long", long)
    for t in others:
        t.join()
    assert runs == list("123456")  # the short recipe was copied by the long build on its way
    assert requested["short"] == ["etl-1", "etl-2", "etl-3"]
    assert requested["long"] == requested["again"] == [f"etl-{d}" for d in "123456"]


def test_a_failed_build_fails_its_waiters_instead_of_hanging(runs, tmp_path):
    cache = LakeCache(tmp_path / "cache", checkpoints=[])
    with pytest.raises(ValueError):
        cache.copy(steps("1", "broken"), tmp_path / "a")
    with pytest.raises(RuntimeError, match="failed"):
        cache.copy(steps("1", "broken"), tmp_path / "b")
