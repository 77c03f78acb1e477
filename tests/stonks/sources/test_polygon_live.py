"""The live Polygon adapter against a local server speaking Polygon's documented JSON."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from stonks.sources.errors import (
    SourceRateLimited,
    SourceRequestRejected,
    SourceResponseInvalid,
    SourceUnavailable,
)
from stonks.sources.http import RetryPolicy, SourceHttpClient, parse_retry_after
from stonks.sources.polygon import PolygonClient
from tests.stonks.sources.conftest import Reply, ScriptedServer

START = datetime(2010, 1, 25, tzinfo=UTC)
END = datetime(2010, 1, 26, tzinfo=UTC)
NEWS = "/v2/reference/news"


def article(n: int, published: str = "2010-01-25T21:35:00Z") -> dict[str, object]:
    return {"id": f"a{n}", "publisher": {"name": "Wire"}, "title": f"Title {n}",
            "author": "Desk", "published_utc": published, "article_url": f"https://x/{n}",
            "tickers": ["AAPL"], "description": f"Apple news number {n}."}


def page(results: list[dict[str, object]], next_url: str | None = None) -> bytes:
    body: dict[str, object] = {"status": "OK", "request_id": "r", "count": len(results),
                               "results": results}
    if next_url:
        body["next_url"] = next_url
    return json.dumps(body).encode()


def client(server: ScriptedServer, *, attempts: int = 3, read_timeout_s: float = 2.0,
           sleeps: list[float] | None = None) -> PolygonClient:
    recorded = sleeps if sleeps is not None else []
    http = SourceHttpClient("polygon", headers={"Authorization": "Bearer k"},
                            read_timeout_s=read_timeout_s,
                            retry=RetryPolicy(attempts, 0.01, 5.0), sleep=recorded.append)
    return PolygonClient(http, server.base_url)


def test_news_follows_next_url_pages_and_keeps_the_window(http_server: ScriptedServer) -> None:
    cursor = f"{http_server.base_url}/v2/reference/news/page2"
    http_server.route(NEWS, Reply(body=page([article(1), article(2)], next_url=cursor)))
    late = article(3, published="2010-01-26T00:00:00Z")  # on the window's end: excluded
    http_server.route("/v2/reference/news/page2", Reply(body=page([article(4), late])))
    documents = client(http_server).news("AAPL", START, END)
    assert [d.external_id for d in documents] == ["a1", "a2", "a4"]
    first_query = http_server.requests[0][1]
    assert "ticker=AAPL" in first_query and "published_utc.gte=2010-01-25T00%3A00%3A00Z" in (
        first_query)
    assert http_server.requests[0][2]["Authorization"] == "Bearer k"


def test_429_is_retried_after_the_retry_after_delay(http_server: ScriptedServer) -> None:
    http_server.route(NEWS, Reply(429, b'{"status":"ERROR"}', headers={"Retry-After": "2"}),
                      Reply(body=page([article(1)])))
    sleeps: list[float] = []
    documents = client(http_server, sleeps=sleeps).news("AAPL", START, END)
    assert len(documents) == 1
    assert sleeps == [2.0]


def test_persistent_429_raises_rate_limited(http_server: ScriptedServer) -> None:
    http_server.route(NEWS, Reply(429, b"{}", headers={"Retry-After": "0"}))
    with pytest.raises(SourceRateLimited):
        client(http_server).news("AAPL", START, END)
    assert http_server.count(NEWS) == 3


def test_5xx_is_retried_with_backoff_then_raises_unavailable(
    http_server: ScriptedServer,
) -> None:
    http_server.route(NEWS, Reply(500, b"oops", content_type="text/plain"))
    sleeps: list[float] = []
    with pytest.raises(SourceUnavailable, match="HTTP 500"):
        client(http_server, attempts=4, sleeps=sleeps).news("AAPL", START, END)
    assert http_server.count(NEWS) == 4
    assert len(sleeps) == 3 and all(0 <= s <= 5.0 for s in sleeps)


def test_a_transient_500_recovers(http_server: ScriptedServer) -> None:
    http_server.route(NEWS, Reply(503, b""), Reply(body=page([article(1)])))
    assert len(client(http_server).news("AAPL", START, END)) == 1


def test_timeout_raises_unavailable(http_server: ScriptedServer) -> None:
    http_server.route(NEWS, Reply(body=page([article(1)]), delay_s=1.0))
    with pytest.raises(SourceUnavailable, match="timeout"):
        client(http_server, attempts=2, read_timeout_s=0.2).news("AAPL", START, END)


def test_truncated_json_raises_instead_of_returning_nothing(
    http_server: ScriptedServer,
) -> None:
    http_server.route(NEWS, Reply(body=page([article(1)])[:-25]))
    with pytest.raises(SourceResponseInvalid, match="truncated"):
        client(http_server).news("AAPL", START, END)


def test_wrong_content_type_raises(http_server: ScriptedServer) -> None:
    http_server.route(NEWS, Reply(body=b"<html>maintenance</html>", content_type="text/html"))
    with pytest.raises(SourceResponseInvalid, match="content type"):
        client(http_server).news("AAPL", START, END)


def test_error_status_in_body_raises(http_server: ScriptedServer) -> None:
    http_server.route(NEWS, Reply(body=b'{"status":"ERROR","error":"bad cursor"}'))
    with pytest.raises(SourceResponseInvalid, match="bad cursor"):
        client(http_server).news("AAPL", START, END)


def test_401_is_not_retried(http_server: ScriptedServer) -> None:
    http_server.route(NEWS, Reply(401, b'{"status":"ERROR"}'))
    with pytest.raises(SourceRequestRejected, match="401"):
        client(http_server).news("AAPL", START, END)
    assert http_server.count(NEWS) == 1


def test_aggregates_and_grouped_daily_parse_bars(http_server: ScriptedServer) -> None:
    t0 = int(START.timestamp() * 1000) + 14 * 3600 * 1000 + 30 * 60 * 1000
    bars = [{"o": 1, "h": 2, "l": 0.5, "c": 1.5, "v": 100, "vw": 1.2, "t": t0 + i * 300000,
             "n": 5} for i in range(3)]
    start_ms, end_ms = int(START.timestamp() * 1000), int(END.timestamp() * 1000) - 1
    http_server.route(f"/v2/aggs/ticker/AAPL/range/5/minute/{start_ms}/{end_ms}",
                      Reply(body=json.dumps({"status": "OK", "ticker": "AAPL",
                                             "resultsCount": 3, "results": bars}).encode()))
    http_server.route("/v2/aggs/grouped/locale/us/market/stocks/2010-01-25",
                      Reply(body=json.dumps({"status": "OK", "resultsCount": 1, "results": [
                          {"T": "MSFT", "o": 29, "h": 30, "l": 28, "c": 29.5, "v": 1e6,
                           "t": int(START.timestamp() * 1000)}]}).encode()))
    polygon = client(http_server)
    intraday = polygon.aggregates("AAPL", 5, "minute", START, END)
    assert [b.start.minute for b in intraday] == [30, 35, 40]
    (daily,) = polygon.grouped_daily(date(2010, 1, 25))
    assert daily.ticker == "MSFT" and daily.close == 29.5


def test_malformed_bar_raises(http_server: ScriptedServer) -> None:
    http_server.route("/v2/aggs/grouped/locale/us/market/stocks/2010-01-25",
                      Reply(body=b'{"status":"OK","results":[{"T":"X","o":"n/a"}]}'))
    with pytest.raises(SourceResponseInvalid, match="malformed bar"):
        client(http_server).grouped_daily(date(2010, 1, 25))


def test_retry_after_accepts_http_dates() -> None:
    now = datetime(2010, 1, 25, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after("Mon, 25 Jan 2010 12:00:30 GMT", now) == 30.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("soon") is None
