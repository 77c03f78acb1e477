"""The trading engine against real databases and Redis: what it records and hands over, and
that a redelivered recommendation never decides twice, on PostgreSQL (prepared statements on
a kept connection) and SQLite (SQLAlchemy statements).

The engine is called as the trading consumer calls it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import account_name, ensure_account, make_broker, reconcile
from realtime.market_data import BarStore
from realtime.messages import BrokerOrderJob, RecommendationCommitted
from realtime.sql import table_of
from realtime.trading import TradingEngine
from realtime.trading.engine import DEDUPE_TTL_S
from stonks import redis_keys
from stonks.config import Settings
from stonks.models.orders import TradingDecision
from stonks.models.recommendations import Recommendation
from stonks.queues import Delivery
from tests.realtime.conftest import make_settings, seeded_engine

#: Risk opened up so that a clean recommendation acts (every gate still runs).
OPEN = {"risk_min_confidence": 0, "risk_max_correlation": 1, "risk_max_sector_fraction": 1}
ORDERS = redis_keys.queue(redis_keys.QueueName.BROKER_ORDERS)


@pytest.fixture
def db(each_dialect_url: str) -> Iterator[Engine]:
    """A migrated database with the tracked companies, on each supported dialect."""
    with seeded_engine(each_dialect_url) as engine:
        yield engine


@pytest.fixture
def settings(db: Engine, redis_url: str) -> Settings:
    return make_settings(db.url.render_as_string(hide_password=False), redis_url, **OPEN)


def trading_engine(db: Engine, client: redis.Redis, settings: Settings) -> TradingEngine:
    """A trading engine as a (new) worker process builds it, on a reconciled account."""
    bars = BarStore()
    broker = make_broker(settings, client, bars)
    account_id = ensure_account(db, settings, broker)
    reconcile(db, broker, account_id)
    return TradingEngine(db, client, settings, account_id, account_name(settings), bars=bars)


def insert_recommendation(db: Engine, ticker: str, moment: datetime, key: str) -> int:
    r = table_of(Recommendation)
    with db.begin() as conn:
        company = conn.execute(sa.text("SELECT id FROM companies WHERE ticker = :t"),
                               {"t": ticker}).scalar_one()
        return int(conn.execute(sa.insert(r).values(
            idempotency_key=key, company_id=company, ticker=ticker, action="buy",
            direction="bullish", confidence=0.7, probability=0.6, payoff_ratio=2.0,
            entry_price=Decimal("100.5"), stop_loss=Decimal("95.25"), targets=["110", "120"],
            details={"sector": "Information Technology", "trailing_stop": 1.5,
                     "as_of": moment.isoformat()}).returning(r.c.id)).scalar_one())


def decisions(db: Engine) -> list[Any]:
    t = table_of(TradingDecision)
    with db.connect() as conn:
        return list(conn.execute(sa.select(t).order_by(t.c.id)).all())


def status_of(db: Engine, rec_id: int) -> str:
    r = table_of(Recommendation)
    with db.connect() as conn:
        return str(conn.execute(sa.select(r.c.status).where(r.c.id == rec_id)).scalar_one())


@pytest.fixture
def engine(db: Engine, redis_client: redis.Redis, settings: Settings) -> Iterator[TradingEngine]:
    """A trading engine on the test account, closed afterwards."""
    trader = trading_engine(db, redis_client, settings)
    yield trader
    trader.close()


@pytest.fixture
def recommended(db: Engine, buy_case: tuple[datetime, str]) -> tuple[datetime, int]:
    """The moment of a BUY case and a recommendation committed for it (key ``k1``)."""
    moment, ticker = buy_case
    return moment, insert_recommendation(db, ticker, moment, "k1")


def handed_over(client: redis.Redis) -> list[BrokerOrderJob]:
    entries: list[Any] = client.xrange(ORDERS)  # type: ignore[assignment]
    return [BrokerOrderJob.from_fields(fields) for _, fields in entries]


def test_a_recommendation_is_decided_recorded_and_handed_over(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    recommended: tuple[datetime, int], engine: TradingEngine,
) -> None:
    moment, rec_id = recommended
    jobs = engine.decide_recommendations([(rec_id, moment, moment)])
    [decision] = decisions(db)
    assert decision.outcome == "act" and decision.blocked_by is None, decision.gate_results
    assert decision.decision_key == f"rec:{rec_id}" and decision.recommendation_id == rec_id
    assert set(decision.gate_results) == {
        "circuit_breaker", "reconciliation", "trading_window", "confidence", "max_positions",
        "sector_exposure", "correlation", "earnings_blackout"}
    assert all(g["passed"] for g in decision.gate_results.values())
    assert decision.sizing["reason"] in ("fractional Kelly", "capped by tier")
    assert decision.reference_price == Decimal("100.5") and decision.quantity > 0
    [job] = handed_over(redis_client)
    assert jobs == {rec_id: job}
    assert (job.decision_id, job.quantity, job.reference_price) == (
        decision.id, decision.quantity, Decimal("100.5"))
    assert job.exits == {"stop_loss": "95.25000000", "targets": ["110", "120"],
                         "trailing_atr_multiple": settings.signal_trailing_atr_multiple,
                         "trailing_stop": 1.5, "sector": "Information Technology"}
    assert status_of(db, rec_id) == "acted"


@pytest.mark.parametrize("status_after_crash", ["active", "acted"])
def test_a_redelivery_after_a_crash_hands_the_recorded_decision_over_again(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    buy_case: tuple[datetime, str], status_after_crash: str,
) -> None:
    # The worker died after committing the decision, before its job reached the broker
    # queue: a new worker gets the announcement again and must hand over the same order,
    # deciding nothing new. The decision commits with the ``acted`` status; a
    # recommendation still ``active`` is what an engine that marked it after the hand-off
    # leaves behind, and the new worker marks it.
    moment, ticker = buy_case
    rec_id = insert_recommendation(db, ticker, moment, "k1")
    [first] = trading_engine(db, redis_client, settings).decide_recommendations(
        [(rec_id, moment, moment)]).values()
    redis_client.delete(ORDERS)
    with db.begin() as conn:
        conn.execute(sa.update(table_of(Recommendation)).values(status=status_after_crash))
    restarted = trading_engine(db, redis_client, settings)
    [again] = restarted.decide_recommendations([(rec_id, moment, moment)]).values()
    assert (again.client_order_id, again.decision_id, again.quantity) == (
        first.client_order_id, first.decision_id, first.quantity)
    assert [j.client_order_id for j in handed_over(redis_client)] == [first.client_order_id]
    assert len(decisions(db)) == 1
    assert status_of(db, rec_id) == "acted"


def test_a_redelivered_skip_hands_nothing_over(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    buy_case: tuple[datetime, str],
) -> None:
    moment, ticker = buy_case
    redis_client.hset(redis_keys.circuit_breaker(account_name(settings)),
                      mapping={"tripped": "1", "breaker": "daily_loss", "reason": "lost 3%"})
    rec_id = insert_recommendation(db, ticker, moment, "k1")
    assert trading_engine(db, redis_client, settings).decide_recommendations(
        [(rec_id, moment, moment)]) == {}
    redis_client.delete(redis_keys.circuit_breaker(account_name(settings)))
    # Redelivered to a new worker after the breaker was reset: the skip stands.
    assert trading_engine(db, redis_client, settings).decide_recommendations(
        [(rec_id, moment, moment)]) == {}
    [decision] = decisions(db)
    assert (decision.outcome, decision.blocked_by) == ("skip", "circuit_breaker")
    assert decision.gate_results["circuit_breaker"] == {
        "passed": False, "value": "daily_loss", "limit": None, "note": "lost 3%"}
    assert handed_over(redis_client) == [] and status_of(db, rec_id) == "active"


def test_a_redelivered_decision_hands_the_same_order_over_and_decides_nothing_new(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    recommended: tuple[datetime, int], engine: TradingEngine,
) -> None:
    moment, rec_id = recommended
    [first] = engine.decide_recommendations([(rec_id, moment, moment)]).values()
    [again] = engine.decide_recommendations([(rec_id, moment, moment)]).values()
    assert (again.client_order_id, again.decision_id) == (first.client_order_id,
                                                          first.decision_id)
    # Handed over again: the broker dedupes on the client_order_id.
    assert [j.client_order_id for j in handed_over(redis_client)] == [
        first.client_order_id] * 2
    assert len(decisions(db)) == 1 and status_of(db, rec_id) == "acted"


def _announced(rec_id: int, moment: datetime, delivery_count: int) -> Delivery[
        RecommendationCommitted]:
    return Delivery(entry_id="1-0", delivery_count=delivery_count,
                    message=RecommendationCommitted(recommendation_id=rec_id, as_of=moment,
                                                    origin_at=moment))


def test_a_redelivered_recommendation_marked_decided_in_redis_is_dropped(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    recommended: tuple[datetime, int], engine: TradingEngine,
) -> None:
    moment, rec_id = recommended
    engine.handle([_announced(rec_id, moment, 1)])
    marker = redis_keys.trading_dedupe(str(rec_id))
    assert redis_client.get(marker) == b"1" and 0 < redis_client.ttl(marker) <= DEDUPE_TTL_S
    engine.handle([_announced(rec_id, moment, 2)])  # redelivered: marked, so dropped
    assert len(handed_over(redis_client)) == 1 and len(decisions(db)) == 1
    redis_client.delete(marker)  # a marker lost: the read finds the decision instead
    engine.handle([_announced(rec_id, moment, 3)])
    assert [j.decision_id for j in handed_over(redis_client)] == [decisions(db)[0].id] * 2
    assert len(decisions(db)) == 1 and redis_client.exists(marker)


def test_the_breaker_state_read_with_the_batch_decides_it_and_only_it(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    buy_case: tuple[datetime, str], engine: TradingEngine,
) -> None:
    # The consumer reads the breaker along with the batch (``ReadAlong``): tripped then,
    # the batch is blocked; the next batch reads the state again (reset by now).
    moment, ticker = buy_case
    tripped = {b"tripped": b"1", b"breaker": b"daily_loss", b"reason": b"lost 3%"}
    first = insert_recommendation(db, ticker, moment, "k1")
    second = insert_recommendation(db, ticker, moment, "k2")
    engine.breaker.take_replies([tripped])
    assert engine.decide_recommendations([(first, moment, moment)]) == {}
    assert list(engine.decide_recommendations([(second, moment, moment)])) == [second]
    blocked = {d.recommendation_id: d.blocked_by for d in decisions(db)}
    assert blocked == {first: "circuit_breaker", second: None}


def test_a_batch_decides_each_recommendation_with_the_same_account_view(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    buy_case: tuple[datetime, str], engine: TradingEngine,
) -> None:
    moment, ticker = buy_case
    ids = [insert_recommendation(db, ticker, moment, f"k{i}") for i in range(3)]
    jobs = engine.decide_recommendations([(i, moment, moment) for i in ids])
    recorded = decisions(db)
    assert [d.recommendation_id for d in recorded] == ids  # ids in the batch's order
    assert sorted(jobs) == ids and len({j.quantity for j in jobs.values()}) == 1
    assert {j.decision_id for j in jobs.values()} == {d.id for d in recorded}
    assert [status_of(db, i) for i in ids] == ["acted"] * 3


def _engine_after_one_decision(db: Engine, redis_client: redis.Redis, settings: Settings,
                               case: tuple[datetime, str], *,
                               skip: str) -> tuple[TradingEngine, int]:
    """A trading engine on PostgreSQL (else the test is skipped: ``skip`` says why) and the
    one recommendation it has decided."""
    if db.dialect.name != "postgresql":
        pytest.skip(skip)
    moment, ticker = case
    engine = trading_engine(db, redis_client, settings)
    first = insert_recommendation(db, ticker, moment, "k1")
    engine.decide_recommendations([(first, moment, moment)])
    return engine, first


def test_the_engine_carries_on_after_the_database_drops_its_connection(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    buy_case: tuple[datetime, str],
) -> None:
    engine, _ = _engine_after_one_decision(db, redis_client, settings, buy_case,
                                           skip="a server connection to drop")
    moment, ticker = buy_case
    with db.connect() as conn:  # e.g. a server restart or an idle-session timeout
        dropped = conn.execute(sa.text(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar_one()
    assert dropped >= 1
    second = insert_recommendation(db, ticker, moment, "k2")
    assert list(engine.decide_recommendations([(second, moment, moment)])) == [second]
    assert status_of(db, second) == "acted"
    engine.close()


def test_a_manual_trade_is_decided_once_per_key(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    buy_case: tuple[datetime, str], engine: TradingEngine,
) -> None:
    from realtime.trading import ProposedTrade
    from stonks.models.enums import OrderSide
    from stonks.models.orders import DecisionTrigger

    moment, ticker = buy_case
    trade = ProposedTrade(decision_key="manual:x", trigger=DecisionTrigger.MANUAL, ticker=ticker,
                          side=OrderSide.BUY, moment=moment, origin_at=datetime.now(UTC),
                          quantity=Decimal(3))
    first = engine.decide(trade)
    again = engine.decide(trade)
    assert first is not None and again is not None
    assert (again.client_order_id, again.decision_id) == (first.client_order_id,
                                                           first.decision_id)
    [decision] = decisions(db)
    assert decision.sizing == {"quantity": "3", "reason": "manual quantity"}
    close = engine.bars.snapshot(ticker, moment)
    assert close is not None and decision.reference_price == Decimal(str(close.close))
    assert len(handed_over(redis_client)) == 2  # the broker dedupes on client_order_id


def test_a_batch_reads_once_and_records_its_decisions_with_their_status_in_one_statement(
    db: Engine, settings: Settings, redis_client: redis.Redis,
    buy_case: tuple[datetime, str],
) -> None:
    engine, first = _engine_after_one_decision(  # the statements are prepared
        db, redis_client, settings, buy_case, skip="one statement per step on PostgreSQL only")
    moment, ticker = buy_case
    batch = [insert_recommendation(db, ticker, moment, f"k{i}") for i in range(2, 5)]
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        sent.append(statement)

    sa.event.listen(db, "before_cursor_execute", count)
    try:
        jobs = engine.decide_recommendations([(i, moment, moment) for i in batch])
    finally:
        sa.event.remove(db, "before_cursor_execute", count)
    assert sorted(jobs) == batch
    assert [s.split("(")[0] for s in sent] == ["EXECUTE stonks_trading_read",
                                               "EXECUTE stonks_trading_write"]
    assert [status_of(db, i) for i in [first, *batch]] == ["acted"] * 4
    engine.close()
