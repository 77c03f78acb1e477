"""The aggregation's signal cache: the signals of rows seen before, never stale ones."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.aggregation.signals import SignalCache, load_signals_batch
from realtime.sql import table_of
from stonks.models.documents import DocumentImpactRecord
from stonks.weighted_signals import WeightedSignal
from tests.realtime.conftest import TRACKED, insert_macro_signal, insert_news_signal, recent


def test_cached_signals_are_those_of_the_rows_read_now(
    db: Engine, buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    other = next(t for t in TRACKED if t != ticker)
    first_id = insert_news_signal(db, ticker, recent(moment, 3))
    insert_macro_signal(db, ticker, recent(moment, 2))
    insert_news_signal(db, other, recent(moment, 1), direction="bearish")
    windows = [(ticker, moment - timedelta(days=30), moment),
               (other, moment - timedelta(days=30), moment),
               (ticker, moment - timedelta(hours=2, minutes=30), moment)]
    autocommit = db.execution_options(isolation_level="AUTOCOMMIT")  # the prepared read
    cache = SignalCache()

    def both() -> tuple[list[list[WeightedSignal]], list[list[WeightedSignal]]]:
        with autocommit.connect() as conn:
            return (list(load_signals_batch(conn, windows, cache)),
                    list(load_signals_batch(conn, windows)))

    cached, fresh = both()
    assert cached == fresh and [len(found) for found in cached] == [2, 1, 1]
    assert both()[0] == fresh  # the same rows again

    impacts = table_of(DocumentImpactRecord)
    with db.begin() as conn:  # a changed row and a new one
        conn.execute(sa.update(impacts).where(impacts.c.id == first_id).values(magnitude=0.1))
    insert_news_signal(db, ticker, recent(moment, 0.5), direction="bearish")
    cached, fresh = both()
    assert cached == fresh and [len(found) for found in cached] == [3, 1, 2]
    assert [s.weight for s in cached[0] if s.provenance.table == impacts.name
            and s.provenance.record_id == first_id] == [0.1]
