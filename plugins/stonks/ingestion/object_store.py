"""The raw object store: the lake folder when embedded, S3/MinIO in production.

Keys are deterministic (``raw/<source>/<yyyy>/<mm>/<dd>/<sha256>.<ext>``), so writing the
same payload twice lands on the same object, and a re-run never leaves a second copy.
Local writes go to a temporary file first and are renamed into place, so a reader never
sees a half-written object. On S3 an object becomes visible only when its upload completes
(PutObject, or CompleteMultipartUpload for large payloads), so a failed put leaves nothing.

Failures surface as :class:`ObjectStoreError` (a :class:`~stonks.errors.ServiceError`), a
missing key as :class:`ObjectNotFound`; callers never see pyarrow's ``OSError``.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Protocol

from stonks.config import Settings
from stonks.errors import ServiceError

__all__ = [
    "LocalObjectStore",
    "ObjectNotFound",
    "ObjectStore",
    "ObjectStoreError",
    "S3ObjectStore",
    "object_store",
    "raw_document_key",
]


class ObjectStoreError(ServiceError):
    """The object store could not be reached, or refused an operation (e.g. no such bucket)."""


class ObjectNotFound(ObjectStoreError):
    """No object under the requested key."""


def raw_document_key(source_key: str, published_at: datetime, content_hash: str, ext: str) -> str:
    """The object key of a raw document payload."""
    return (
        f"raw/{source_key}/{published_at:%Y/%m/%d}/{content_hash}.{ext}"
    )


class ObjectStore(Protocol):
    """Put and get whole objects by key."""

    def put(self, key: str, data: bytes) -> None: ...

    def get(self, key: str) -> bytes: ...

    def exists(self, key: str) -> bool: ...


class LocalObjectStore:
    """Objects as files under a root folder (the embedded lake)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"object key escapes the store: {key!r}")
        return path

    def put(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        try:
            with os.fdopen(handle, "wb") as output:
                output.write(data)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise

    def get(self, key: str) -> bytes:
        try:
            return self._path(key).read_bytes()
        except FileNotFoundError as exc:
            raise ObjectNotFound(f"no object {key!r} in {self.root}") from exc

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


class S3ObjectStore:
    """Objects in an S3/MinIO bucket through pyarrow's S3 filesystem."""

    def __init__(self, settings: Settings) -> None:
        from pyarrow import fs

        if not settings.object_store_bucket:
            raise ServiceError("STONKS_OBJECT_STORE_BUCKET is not set")
        endpoint = settings.object_store_endpoint_url
        access = settings.object_store_access_key_id
        secret = settings.object_store_secret_access_key
        scheme = "http" if endpoint and endpoint.startswith("http://") else "https"
        self.bucket = settings.object_store_bucket
        self._endpoint = endpoint or "AWS S3"
        self._fs = fs.S3FileSystem(
            access_key=access.get_secret_value() if access else None,
            secret_key=secret.get_secret_value() if secret else None,
            region=settings.object_store_region,
            endpoint_override=endpoint.split("://", 1)[1] if endpoint else None,
            scheme=scheme,
            connect_timeout=5.0,
            request_timeout=60.0,
        )

    def _fail(self, operation: str, key: str, exc: OSError) -> ObjectStoreError:
        where = f"s3://{self.bucket}/{key} at {self._endpoint}"
        if isinstance(exc, FileNotFoundError):
            return ObjectNotFound(f"no object {where}")
        return ObjectStoreError(f"object store {operation} failed for {where}: {exc}")

    def put(self, key: str, data: bytes) -> None:
        path = f"{self.bucket}/{key}"
        try:
            stream = self._fs.open_output_stream(path)
        except OSError as exc:
            raise self._fail("put", key, exc) from exc
        try:
            # One write of the whole payload, then close: the object is published on close
            # only; a failed part upload makes close fail before the upload is completed.
            stream.write(data)
            stream.close()
        except OSError as exc:
            raise self._fail("put", key, exc) from exc

    def get(self, key: str) -> bytes:
        try:
            with self._fs.open_input_stream(f"{self.bucket}/{key}") as source:
                return bytes(source.read())
        except OSError as exc:
            raise self._fail("get", key, exc) from exc

    def exists(self, key: str) -> bool:
        from pyarrow import fs

        try:
            info = self._fs.get_file_info(f"{self.bucket}/{key}")
        except OSError as exc:
            raise self._fail("stat", key, exc) from exc
        return bool(info.type == fs.FileType.File)


def object_store(settings: Settings) -> ObjectStore:
    """S3 when an object-store bucket is configured, else the local lake folder."""
    if settings.object_store_bucket:
        return S3ObjectStore(settings)
    return LocalObjectStore(settings.effective_lake_path)
