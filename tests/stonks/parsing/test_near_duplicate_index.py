"""The SimHash near-duplicate index stays bounded in Redis."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import redis

from stonks.models import DocumentKind
from stonks.parsing.leases import ClaimedDocument
from stonks.parsing.process import NEAR_DUPLICATE_WINDOW, NearDuplicateIndex, ParseResult

KEY = "stonks:cache:simhash:news"
START = datetime(2010, 1, 1, tzinfo=UTC)


def _result(doc_id: int, published_at: datetime, kind: DocumentKind = DocumentKind.NEWS,
            simhash: int = 0) -> ParseResult:
    document = ClaimedDocument(id=doc_id, kind=kind, content_type="text/html",
                               raw_object_key=None, title=None, published_at=published_at,
                               provider_data={})
    return ParseResult(document, simhash=simhash or doc_id * 7919 + 1)


def test_entries_older_than_the_retention_behind_the_newest_are_dropped(
    redis_client: redis.Redis,
) -> None:
    index = NearDuplicateIndex(redis_client, retention=timedelta(days=10))
    index.add([_result(i, START + timedelta(days=i)) for i in range(1, 6)])  # days 1..5
    assert redis_client.zcard(KEY) == 5
    index.add([_result(30, START + timedelta(days=14))])  # newest: day 14, keeps days >= 4
    kept = sorted(int(m.decode().split(":")[0]) for m in redis_client.zrange(KEY, 0, -1))
    assert kept == [4, 5, 30]
    # What a match needs is still there: candidates of a day-5 document.
    around = (START + timedelta(days=5)).timestamp()
    assert [doc_id for doc_id, _ in index.candidates(DocumentKind.NEWS, around)] == [4, 5]


def test_a_backfill_of_old_documents_keeps_its_neighbours(redis_client: redis.Redis) -> None:
    # Ages count from the newest indexed document, not the wall clock: 2010 data survives.
    index = NearDuplicateIndex(redis_client)
    index.add([_result(i, START + timedelta(hours=i)) for i in range(1, 50)])
    assert redis_client.zcard(KEY) == 49


def test_the_index_never_holds_more_than_max_entries(redis_client: redis.Redis) -> None:
    index = NearDuplicateIndex(redis_client, max_entries=100)
    for batch in range(5):
        index.add([_result(batch * 60 + i, START + timedelta(minutes=batch * 60 + i))
                   for i in range(60)])
        assert redis_client.zcard(KEY) <= 100
    newest = [int(m.decode().split(":")[0]) for m in redis_client.zrange(KEY, 0, -1)]
    assert newest == list(range(200, 300))  # the newest by published time are kept


def test_each_kind_is_bounded_on_its_own(redis_client: redis.Redis) -> None:
    index = NearDuplicateIndex(redis_client, retention=timedelta(days=5))
    index.add([_result(1, START, DocumentKind.MACRO), _result(2, START + timedelta(days=20))])
    index.add([_result(3, START + timedelta(days=40))])
    assert redis_client.zcard("stonks:cache:simhash:macro") == 1
    assert redis_client.zcard(KEY) == 1


def test_the_retention_must_cover_the_match_window(redis_client: redis.Redis) -> None:
    with pytest.raises(ValueError, match="window"):
        NearDuplicateIndex(redis_client, retention=NEAR_DUPLICATE_WINDOW / 2)
