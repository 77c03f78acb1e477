"""The S3 object store against a real S3 protocol server (moto_server on 127.0.0.1)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa

from stonks.config import Settings, load_settings
from stonks.db import dispose_engines
from stonks.errors import ServiceError
from stonks.ingestion.bars import read_bars
from stonks.ingestion.jobs import ingest_company_news, ingest_market_bars
from stonks.ingestion.object_store import (
    ObjectNotFound,
    ObjectStoreError,
    S3ObjectStore,
    object_store,
    raw_document_key,
)
from tests.harness.postgres import free_port

MOTO_SERVER = Path(__file__).resolve().parents[3] / ".venv" / "bin" / "moto_server"
BUCKET = "stonks-lake"


@dataclass
class MotoServer:
    port: int
    process: subprocess.Popen[bytes]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def client(self) -> Any:
        return boto3.client("s3", endpoint_url=self.url, region_name="us-east-1",
                            aws_access_key_id="test", aws_secret_access_key="test")


def _wait_for_port(port: int, timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"moto_server did not listen on {port} within {timeout_s} s")


@pytest.fixture(scope="module")
def moto() -> Iterator[MotoServer]:
    if not MOTO_SERVER.exists():
        pytest.skip("moto_server is not installed in the venv")
    port = free_port()
    process = subprocess.Popen([str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for_port(port)
        yield MotoServer(port, process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def bucket(moto: MotoServer) -> Iterator[str]:
    """An empty bucket for this test; deleted with its objects afterwards."""
    client = moto.client()
    client.create_bucket(Bucket=BUCKET)
    try:
        yield BUCKET
    finally:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for entry in page.get("Contents", []):
                client.delete_object(Bucket=BUCKET, Key=entry["Key"])
        client.delete_bucket(Bucket=BUCKET)


def _settings(endpoint: str, bucket: str, **overrides: Any) -> Settings:
    return load_settings(object_store_endpoint_url=endpoint, object_store_bucket=bucket,
                         object_store_access_key_id="test",
                         object_store_secret_access_key="test", **overrides)


def _keys(moto: MotoServer, bucket: str) -> list[str]:
    response = moto.client().list_objects_v2(Bucket=bucket)
    return sorted(entry["Key"] for entry in response.get("Contents", []))


def test_settings_with_a_bucket_select_the_s3_store(moto: MotoServer) -> None:
    assert isinstance(object_store(_settings(moto.url, BUCKET)), S3ObjectStore)


def test_put_get_round_trip_under_the_deterministic_key(moto: MotoServer, bucket: str) -> None:
    store = object_store(_settings(moto.url, bucket))
    key = raw_document_key("sample_news", datetime(2010, 1, 25, tzinfo=UTC), "ab" * 32, "json")
    assert not store.exists(key)
    store.put(key, b'{"title": "one"}')
    assert store.exists(key)
    assert store.get(key) == b'{"title": "one"}'
    raw = moto.client().get_object(Bucket=bucket, Key=key)["Body"].read()
    assert raw == b'{"title": "one"}'
    assert _keys(moto, bucket) == [f"raw/sample_news/2010/01/25/{'ab' * 32}.json"]


def test_re_putting_the_same_payload_leaves_one_object(moto: MotoServer, bucket: str) -> None:
    store = object_store(_settings(moto.url, bucket))
    key = raw_document_key("sample_news", datetime(2010, 1, 26, tzinfo=UTC), "cd" * 32, "html")
    for _ in range(3):
        store.put(key, b"<p>same</p>")
    assert _keys(moto, bucket) == [key]
    assert store.get(key) == b"<p>same</p>"


def test_a_large_payload_is_stored_whole(moto: MotoServer, bucket: str) -> None:
    # Past pyarrow's multipart part size: the object appears whole, never a prefix of it.
    payload = bytes(range(256)) * (12 * 1024 * 1024 // 256)
    store = object_store(_settings(moto.url, bucket))
    store.put("raw/big/2010/01/25/big.bin", payload)
    assert store.get("raw/big/2010/01/25/big.bin") == payload
    assert _keys(moto, bucket) == ["raw/big/2010/01/25/big.bin"]


def test_a_missing_key_is_object_not_found(moto: MotoServer, bucket: str) -> None:
    store = object_store(_settings(moto.url, bucket))
    with pytest.raises(ObjectNotFound, match=r"raw/none\.json"):
        store.get("raw/none.json")


def test_a_missing_bucket_is_a_clear_service_error(moto: MotoServer) -> None:
    store = object_store(_settings(moto.url, "no-such-bucket"))
    with pytest.raises(ObjectStoreError, match="no-such-bucket") as raised:
        store.put("raw/x.json", b"{}")
    assert isinstance(raised.value, ServiceError)
    assert _bucket_names(moto) == set()  # nothing was created on the way


def _bucket_names(moto: MotoServer) -> set[str]:
    return {b["Name"] for b in moto.client().list_buckets().get("Buckets", [])} - {BUCKET}


def test_an_unreachable_endpoint_is_a_clear_service_error() -> None:
    down = f"http://127.0.0.1:{free_port()}"
    store = object_store(_settings(down, BUCKET))
    started = time.monotonic()
    with pytest.raises(ObjectStoreError, match=r"127\.0\.0\.1") as raised:
        store.put("raw/x.json", b"{}")
    assert not isinstance(raised.value, OSError)
    with pytest.raises(ObjectStoreError):
        store.get("raw/x.json")
    with pytest.raises(ObjectStoreError):
        store.exists("raw/x.json")
    assert time.monotonic() - started < 30


def test_the_ingestion_jobs_write_raw_payloads_and_bars_to_s3(
    moto: MotoServer, bucket: str, pg_url: str, redis_url: str, monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    from stonks.db.migrate import upgrade

    upgrade(pg_url)
    # The jobs read their settings from the environment, as an Airflow worker does.
    for name, value in {
        "STONKS_DATABASE_URL": pg_url, "STONKS_REDIS_URL": redis_url,
        "STONKS_LAKE_PATH": str(tmp_path / "lake"),
        "STONKS_OBJECT_STORE_ENDPOINT_URL": moto.url, "STONKS_OBJECT_STORE_BUCKET": bucket,
        "STONKS_OBJECT_STORE_ACCESS_KEY_ID": "test",
        "STONKS_OBJECT_STORE_SECRET_ACCESS_KEY": "test",
    }.items():
        monkeypatch.setenv(name, value)
    settings = load_settings()
    start, end = datetime(2010, 1, 25, tzinfo=UTC), datetime(2010, 1, 26, tzinfo=UTC)
    try:
        first = ingest_company_news(start, end, settings=settings, dag_run_id="s3-1")
        keys_after_first = _keys(moto, bucket)
        again = ingest_company_news(start, end, settings=settings, dag_run_id="s3-2")
        bars = ingest_market_bars(start, end, settings=settings, dag_run_id="s3-bars")
    finally:
        dispose_engines()
    assert first["stored"] > 0 and again["stored"] == 0
    engine = sa.create_engine(pg_url)
    try:
        with engine.connect() as conn:
            raw_keys = sorted(conn.execute(sa.text(
                "SELECT raw_object_key FROM documents")).scalars())
    finally:
        engine.dispose()
    assert len(raw_keys) == first["stored"]
    assert all(k.startswith("raw/") for k in raw_keys)
    assert set(raw_keys) <= set(keys_after_first)
    store = object_store(settings)
    for key in raw_keys:
        assert store.get(key)  # the payload is in the bucket
    assert not (tmp_path / "lake" / "raw").exists()  # nothing fell back to the local folder
    assert bars["daily_bars"] > 0
    daily_key = "bars/timespan=day/date=2010-01-25/" + bars["source"] + ".parquet"
    assert daily_key in _keys(moto, bucket)
    assert read_bars(store, daily_key).num_rows == bars["daily_bars"]
