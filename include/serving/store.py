"""Where the API reads snapshots and caches images: a local folder or an S3 prefix. Deliberately
small (boto3 on S3, plain files locally): a Lambda cold start must not pay for s3fs or pandas."""
from __future__ import annotations

import os
import uuid
from pathlib import Path


class Store:
    def get(self, key: str) -> bytes | None: ...
    def put(self, key: str, data: bytes, content_type: str) -> None: ...
    def url(self, key: str) -> str | None: ...


class LocalStore(Store):
    def __init__(self, root: str | Path):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError(f"key escapes the store: {key!r}")
        return path

    def get(self, key: str) -> bytes | None:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError:
            return None

    def put(self, key: str, data: bytes, content_type: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".tmp-{uuid.uuid4().hex}-{path.name}")
        tmp.write_bytes(data)
        os.replace(tmp, path)

    def url(self, key: str) -> str | None:
        return None  # served by the API itself


class S3Store(Store):
    def __init__(self, uri: str, client=None, url_ttl_s: int = 3600):
        bucket, _, prefix = uri.removeprefix("s3://").partition("/")
        self.bucket, self.prefix, self.ttl = bucket, prefix.strip("/"), url_ttl_s
        if client is None:
            import boto3

            client = boto3.client("s3")
        self.s3 = client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def get(self, key: str) -> bytes | None:
        try:
            return self.s3.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()
        except self.s3.exceptions.NoSuchKey:
            return None
        except self.s3.exceptions.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey"):
                return None
            raise

    def put(self, key: str, data: bytes, content_type: str) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=self._key(key), Body=data, ContentType=content_type)

    def url(self, key: str) -> str | None:
        return self.s3.generate_presigned_url("get_object", Params={"Bucket": self.bucket, "Key": self._key(key)},
                                              ExpiresIn=self.ttl)


def store_for(root: str) -> Store:
    return S3Store(root) if root.startswith("s3://") else LocalStore(root)
