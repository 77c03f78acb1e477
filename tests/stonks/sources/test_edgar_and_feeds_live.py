"""Live EDGAR and macro-feed adapters, and a live ingestion job that fails cleanly."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
import redis
import sqlalchemy as sa

from stonks.config import load_settings
from stonks.ingestion.jobs import ingest_company_news, ingest_filings, ingest_macro_news
from stonks.sample_data import filings as sample_filings
from stonks.sample_data import macro as sample_macro
from stonks.sources.edgar import EdgarClient
from stonks.sources.errors import SourceResponseInvalid, SourceUnavailable
from stonks.sources.http import RetryPolicy, SourceHttpClient
from tests.stonks.sources.conftest import Reply, ScriptedServer

START = datetime(2010, 1, 25, tzinfo=UTC)
END = datetime(2010, 1, 26, tzinfo=UTC)
UA = "Stonks Oracle Tests tests@example.com"


def edgar(server: ScriptedServer) -> EdgarClient:
    http = SourceHttpClient("sec_edgar", headers={"User-Agent": UA},
                            retry=RetryPolicy(2, 0.01, 1.0), sleep=lambda _: None)
    return EdgarClient(http, server.base_url, server.base_url)


def serve_apple(server: ScriptedServer, html_type: str = "text/html") -> str:
    submissions = sample_filings.submissions("AAPL")
    server.route("/submissions/CIK0000320193.json", Reply(body=json.dumps(submissions).encode()))
    filing = next(f for f in sample_filings.FILINGS if f.accepted.startswith("2010-01-25"))
    path = f"/Archives/edgar/data/320193/{filing.accession.replace('-', '')}/" \
           f"{filing.primary_document}"
    server.route(path, Reply(body=sample_filings.primary_document_html(filing).encode(),
                             content_type=html_type))
    return path


def test_edgar_fetches_window_filings_with_the_user_agent(http_server: ScriptedServer) -> None:
    path = serve_apple(http_server)
    (document,) = edgar(http_server).filings("320193", START, END)
    assert document.provider_data["form"] == "10-Q"
    assert document.content_type == "text/html" and b"<table" in document.payload
    assert document.url is not None and document.url.endswith(path)
    assert all(headers["User-Agent"] == UA for _, _, headers in http_server.requests)


def test_edgar_filing_with_wrong_content_type_raises(http_server: ScriptedServer) -> None:
    serve_apple(http_server, html_type="application/octet-stream")
    with pytest.raises(SourceResponseInvalid, match="content type"):
        edgar(http_server).filings("320193", START, END)


def test_edgar_submissions_without_filings_raise(http_server: ScriptedServer) -> None:
    http_server.route("/submissions/CIK0000320193.json", Reply(body=b'{"cik": "320193"}'))
    with pytest.raises(SourceResponseInvalid, match="filings"):
        edgar(http_server).filings("320193", START, END)


def _live_settings(server: ScriptedServer, url: str, redis_url: str, lake: str,
                   **extra: object) -> object:
    return load_settings(
        database_url=url, redis_url=redis_url, lake_path=lake,
        polygon_api_key="test-key", polygon_base_url=server.base_url,
        sec_user_agent=UA, sec_base_url=server.base_url, sec_archives_url=server.base_url,
        http_max_attempts=2, http_backoff_base_s=0.01, tracked_tickers=["AAPL", "MSFT"],
        **extra,
    )


def _count(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar_one())
    finally:
        engine.dispose()


def test_live_news_job_failing_on_a_later_page_writes_no_documents(
    http_server: ScriptedServer, migrated_pg_url: str, redis_url: str, tmp_path: object,
) -> None:
    good = {"status": "OK", "results": [{"id": "a1", "title": "Apple",
                                         "published_utc": "2010-01-25T10:00:00Z",
                                         "tickers": ["AAPL"], "description": "Apple rose."}],
            "next_url": f"{http_server.base_url}/v2/reference/news/p2"}
    http_server.route("/v2/reference/news", Reply(body=json.dumps(good).encode()))
    http_server.route("/v2/reference/news/p2", Reply(body=b'{"status":"OK","results":[{"id'))
    settings = _live_settings(http_server, migrated_pg_url, redis_url, str(tmp_path))
    with pytest.raises(SourceResponseInvalid):
        ingest_company_news(START, END, settings=settings)  # type: ignore[arg-type]
    assert _count(migrated_pg_url, "documents") == 0
    engine = sa.create_engine(migrated_pg_url)
    with engine.connect() as conn:
        status, error = conn.execute(sa.text("SELECT status, error FROM ingestion_runs")).one()
    engine.dispose()
    assert status == "failed" and "SourceResponseInvalid" in error


def test_live_jobs_store_documents_and_share_rate_limit_buckets(
    http_server: ScriptedServer, migrated_pg_url: str, redis_url: str, tmp_path: object,
) -> None:
    serve_apple(http_server)
    http_server.route("/submissions/CIK0000789019.json", Reply(503, b""))
    settings = _live_settings(http_server, migrated_pg_url, redis_url, str(tmp_path))
    with pytest.raises(SourceUnavailable):  # MSFT's submissions keep failing
        ingest_filings(START, END, settings=settings)  # type: ignore[arg-type]
    assert _count(migrated_pg_url, "documents") == 0
    http_server.route("/submissions/CIK0000789019.json",
                      Reply(body=json.dumps(sample_filings.submissions("MSFT")).encode()))
    summary = ingest_filings(START, END, settings=settings)  # type: ignore[arg-type]
    assert summary["stored"] == 1 and summary["source"] == "sec_edgar"
    client = redis.Redis.from_url(redis_url)
    assert client.exists("stonks:ratelimit:sec_edgar")


def test_live_macro_job_reads_rss_atom_and_json_feeds(
    http_server: ScriptedServer, migrated_pg_url: str, redis_url: str, tmp_path: object,
) -> None:
    http_server.route("/rss", Reply(body=sample_macro.rss_feed(),
                                    content_type="application/rss+xml"))
    http_server.route("/atom", Reply(body=sample_macro.atom_feed(),
                                     content_type="application/atom+xml"))
    http_server.route("/json", Reply(body=sample_macro.json_feed(),
                                     content_type="application/feed+json"))
    feeds = [f"{http_server.base_url}/{name}" for name in ("rss", "atom", "json")]
    settings = _live_settings(http_server, migrated_pg_url, redis_url, str(tmp_path),
                              macro_feed_urls=feeds)
    window = (datetime(2010, 1, 26, tzinfo=UTC), datetime(2010, 1, 28, tzinfo=UTC))
    summary = ingest_macro_news(*window, settings=settings)  # type: ignore[arg-type]
    # Jan 26 (Atom: China lending) and Jan 27 (RSS: Fed; JSON: Fed statement).
    assert summary["stored"] == 3


def test_malformed_feed_raises(http_server: ScriptedServer) -> None:
    from stonks.sources.macro_feeds import parse_feed

    with pytest.raises(SourceResponseInvalid, match="well-formed"):
        parse_feed(b"<rss><channel><item><title>cut", "http://x/feed")
