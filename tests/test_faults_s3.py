"""Faults on the aws lake (``s3://bucket/prefix`` on a moto server, through s3fs as in production):
a PUT that fails in the middle of a run fails the run with an error naming the partition, and
leaves no partial partition behind; the retry without the fault gives a clean run's partitions."""
from __future__ import annotations

import datetime as dt
import io

import boto3
import pandas as pd
import pyarrow.parquet as pq
import pytest
import requests

from include.lake import PART, Lake, LakeWriteError

DAY = dt.date(2013, 3, 5)
FAILING = f"curated/weather_daily/date={DAY}/{PART}"  # the 4th of the run's 9 writes


@pytest.fixture
def moto(moto_server):
    boto3.client("s3").create_bucket(Bucket="aqicast-lake")
    yield boto3.client("s3")


class FailingPuts:
    """Make the S3 server refuse every PUT of a key ending in ``suffix`` while ``active`` (the
    request reaches the server and gets an error response, as from AWS): ``AccessDenied`` (403) or
    ``500`` (an internal error, which botocore retries, failing again)."""

    def __init__(self, monkeypatch, suffix: str, code: str):
        from moto.s3.exceptions import S3ClientError
        from moto.s3.models import S3Backend

        self.active, self.refused = True, []
        original = S3Backend.put_object

        def put_object(backend, bucket_name, key_name, value, *args, **kwargs):
            if self.active and key_name.endswith(suffix):
                self.refused.append(key_name)
                if code == "500":
                    from werkzeug.exceptions import InternalServerError

                    raise InternalServerError("injected fault")
                raise S3ClientError(code, "injected fault: the PUT is refused")
            return original(backend, bucket_name, key_name, value, *args, **kwargs)

        monkeypatch.setattr(S3Backend, "put_object", put_object)


def objects(s3) -> dict[str, bytes]:
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket="aqicast-lake")
            for o in page.get("Contents", [])]
    return {k.removeprefix("lake/"): s3.get_object(Bucket="aqicast-lake", Key=k)["Body"].read() for k in keys}


@pytest.fixture(scope="module")
def clean_local(tmp_path_factory, ) -> dict[str, bytes]:
    """A clean local run's partitions, by path relative to the lake."""
    from include.etl.pipeline import run_etl
    from include.etl.rawio import RawRoot
    from tests.conftest import SAMPLE_RAW

    root = tmp_path_factory.mktemp("clean") / "lake"
    run_etl(DAY, Lake(str(root)), RawRoot(str(SAMPLE_RAW)))
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob(PART)}


@pytest.mark.parametrize("code", ["AccessDenied", "500"])  # refused (403) and a server error (500, retried, fails again)
def test_failing_put_fails_the_run_naming_the_partition(moto, monkeypatch, capsys, sample_raw, clean_local, code):
    from include.cli import main
    from include.etl.pipeline import run_etl

    if code == "500":  # retried by botocore: fewer attempts than the default 5 to keep the test short
        monkeypatch.setenv("AWS_RETRY_MODE", "standard")
        monkeypatch.setenv("AWS_MAX_ATTEMPTS", "3")
    lake = Lake("s3://aqicast-lake/lake")
    faults = FailingPuts(monkeypatch, FAILING, code)
    # the command: exit 2 and one line naming the partition
    assert main(["etl", "--date", DAY.isoformat(), "--lake", lake.root, "--raw-root", sample_raw.root]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"aqicast: error: could not write {FAILING} in lake s3://aqicast-lake/lake: ") and \
        err.count("\n") == 1, err
    assert faults.refused and all(k == f"lake/{FAILING}" for k in faults.refused)
    print(f"\n{code}: {len(faults.refused)} PUT attempt(s) refused; {err.strip()}")
    # the lake's own error carries the path
    with pytest.raises(LakeWriteError) as info:
        lake.write_partition("curated/weather_daily", DAY, pd.DataFrame({"a": [1]}))
    assert info.value.path == lake.partition_file("curated/weather_daily", DAY)

    stored = objects(moto)
    assert FAILING not in stored                       # nothing partial where the PUT failed
    for key, data in stored.items():                  # everything that is there reads whole
        assert key.endswith(PART), key
        pq.read_table(io.BytesIO(data))
    assert f"_runs/etl/date={DAY}.json" not in stored  # the run report marks a finished run only

    # the retry, without the fault, equals a clean local run byte for byte
    faults.active = False
    run_etl(DAY, lake, sample_raw)
    after = objects(moto)
    assert {k: v for k, v in after.items() if k.endswith(PART)} == clean_local
