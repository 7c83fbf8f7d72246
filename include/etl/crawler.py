"""The Glue crawler of the aws backend: what it crawls for logical date D.

It catalogues the raw objects D's ETL reads, so they are queryable in Athena and the run is
visible in the Glue console: the fetch folders D-1..D+1, the GSOD folder of D's year and the
archive's location folders (only new folders are crawled after the first run, as a full re-crawl
of ~10,000 locations a day would cost more than it gives).
"""
from __future__ import annotations

import datetime as dt


def crawler_config(day: dt.date, *, name: str, role: str, database: str) -> dict:
    """The ``create_crawler`` / ``update_crawler`` request for day ``day``."""
    folders = [(day + dt.timedelta(days=k)).isoformat() for k in (-1, 0, 1)]
    targets = [f"s3://openaq-fetches/{kind}/{d}/" for kind in ("realtime", "realtime-gzipped") for d in folders]
    targets += [f"s3://noaa-gsod-pds/{day:%Y}/", "s3://openaq-data-archive/records/csv.gz/"]
    return {
        "Name": name,
        "Role": role,
        "DatabaseName": database,
        "Description": f"aqicast raw objects for {day.isoformat()}",
        "Targets": {"S3Targets": [{"Path": p} for p in targets]},
        "TablePrefix": "raw_",
        "RecrawlPolicy": {"RecrawlBehavior": "CRAWL_NEW_FOLDERS_ONLY"},
        "SchemaChangePolicy": {"UpdateBehavior": "LOG", "DeleteBehavior": "LOG"},
        "Tags": {"project": "aqicast"},
    }
