"""Shared fixtures. Tests use only in-repo data: the sample raw root (data/sample/raw, real values in
the production layouts) and tests/fixtures."""
from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from pathlib import Path

import pytest

# Airflow and AWS settings for the whole test session: a throw-away AIRFLOW_HOME (SQLite), no
# example DAGs, and fake credentials so boto3 under moto never looks for real ones.
_OWN_AIRFLOW_HOME: str | None = None  # the AIRFLOW_HOME this process created: removed at its end


def _own_airflow_home(prefix: str) -> str:
    global _OWN_AIRFLOW_HOME
    _OWN_AIRFLOW_HOME = tempfile.mkdtemp(prefix=prefix)
    return _OWN_AIRFLOW_HOME


if os.getenv("PYTEST_XDIST_WORKER"):  # one SQLite metadata DB per xdist worker: runs never meet across workers
    os.environ["AIRFLOW_HOME"] = _own_airflow_home(f"aqicast-airflow-{os.environ['PYTEST_XDIST_WORKER']}-")
elif "AIRFLOW_HOME" not in os.environ:
    os.environ["AIRFLOW_HOME"] = _own_airflow_home("aqicast-airflow-")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
_REPO = Path(__file__).resolve().parent.parent
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(_REPO / "dags"))
os.environ.setdefault("AIRFLOW__CORE__PLUGINS_FOLDER", str(_REPO / "plugins"))
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "False")
for _key, _value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                     "AWS_SESSION_TOKEN": "testing", "AWS_DEFAULT_REGION": "us-east-1"}.items():
    os.environ[_key] = _value

ROOT = Path(__file__).resolve().parent.parent
SAMPLE_RAW = ROOT / "data" / "sample" / "raw"
FIXTURES = Path(__file__).resolve().parent / "fixtures"


# The longest modules first, then the rest in their usual order. Under xdist each worker runs whole
# files (pytest_xdist_make_scheduler below) in this order: the long ones start at once and short ones
# fill the end (a long module handed out last would be the run's tail). Training first: its 90-day
# Beijing history is the one the others' histories begin with (sample_lakes.BEIJING_ENDS).
SLOW_FIRST = ("test_training.py", "test_backfill_scheduler.py", "test_global_scale.py", "test_dag_aws.py",
              "test_dag_local.py", "test_quality_gate.py", "test_fuzz_readers.py", "test_infra.py",
              "test_dag_backfill.py", "test_languages.py", "test_api.py", "test_serving_load.py",
              "test_web_page.py", "test_faults_etl.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(SLOW_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable: each file keeps its order


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config, log):
    """Whole files per worker, in collection order (``--dist loadfile --no-loadscope-reorder``)
    unless ``--dist`` is given: a module's fixtures (a world history, a running Airflow, a browser)
    are set up once, not on both workers, and SLOW_FIRST decides what starts first."""
    if config.getoption("dist") == "load" and not any(a.startswith("--dist") for a in config.invocation_params.args):
        from xdist.scheduler import LoadFileScheduling

        config.option.loadscopereorder = False  # xdist would hand out the files with the most tests first
        return LoadFileScheduling(config, log)
    return None


def pytest_unconfigure(config):
    """Each process removes the AIRFLOW_HOME it made (an xdist worker its own); never one it was given."""
    if _OWN_AIRFLOW_HOME:
        shutil.rmtree(_OWN_AIRFLOW_HOME, ignore_errors=True)


@pytest.fixture(scope="session")
def lake_cache(tmp_path_factory):
    """The session's sample lakes (``tests.sample_lakes.LakeCache``): in the base temporary folder's
    parent under xdist, which the session's workers share (a new one per session)."""
    from tests.sample_lakes import LakeCache

    base = tmp_path_factory.getbasetemp()
    return LakeCache((base.parent if os.getenv("PYTEST_XDIST_WORKER") else base) / "sample-lakes")


@pytest.fixture
def lake_root(tmp_path) -> Path:
    return tmp_path / "lake"


class RawBuilder:
    """A throw-away raw root built from real sample objects, to which a test can add broken ones."""

    def __init__(self, root: Path):
        self.root = root

    def copy(self, rel: str) -> Path:
        """Copy an object (or folder) of the sample raw root to the same place here."""
        src, dst = SAMPLE_RAW / rel, self.root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        if src.is_dir():
            shutil.copytree(src, dst, dirs_exist_ok=True)
        else:
            shutil.copyfile(src, dst)
        return dst

    def write(self, rel: str, data: bytes | str, gz: bool = False) -> Path:
        dst = self.root / rel
        dst.parent.mkdir(parents=True, exist_ok=True)
        data = data.encode() if isinstance(data, str) else data
        dst.write_bytes(gzip.compress(data, mtime=0) if gz else data)
        return dst

    def read_text(self, rel: str) -> str:
        path = SAMPLE_RAW / rel
        data = path.read_bytes()
        return (gzip.decompress(data) if rel.endswith(".gz") else data).decode()

    @property
    def raw(self):
        from include.etl.rawio import RawRoot

        return RawRoot(str(self.root))


@pytest.fixture
def raw_builder(tmp_path) -> RawBuilder:
    return RawBuilder(tmp_path / "raw")


@pytest.fixture
def sample_raw():
    from include.etl.rawio import RawRoot

    return RawRoot(str(SAMPLE_RAW))



@pytest.fixture
def moto_server(monkeypatch):
    """A moto server on loopback that boto3 (the provider's hooks) and s3fs (the lake) both talk to
    through AWS_ENDPOINT_URL; its state is reset, and s3fs forgets cached clients, on both ends."""
    import requests
    import s3fs
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    requests.post(f"{url}/moto-api/reset", timeout=10)  # moto's state is per process
    s3fs.S3FileSystem.clear_instance_cache()
    try:
        yield url
    finally:
        s3fs.S3FileSystem.clear_instance_cache()
        server.stop()

