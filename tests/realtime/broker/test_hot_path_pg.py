"""The broker's hot path on PostgreSQL: one read brings the orders already written and the
account exactly as the portable reads see them, and the service's own connection
survives being broken between batches."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker.intents import read_batch_pg, read_refs
from realtime.risk.portfolio import load_portfolio
from realtime.risk.reserve import sweep_profit
from realtime.sql import table_of
from stonks.config import Settings
from stonks.models.orders import Order, OrderStatus
from stonks.models.portfolio import PortfolioSnapshot, Position
from stonks.models.risk import RiskTierHistory
from tests.realtime.broker.test_service import _job, _rows, _service


def test_the_one_read_sees_the_orders_and_the_account_as_the_portable_reads_do(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    service, _ = _service(db, settings, client)
    account = service.account_id
    assert service.place(_job(service, "c0")) is OrderStatus.FILLED
    p, s = table_of(Position), table_of(PortfolioSnapshot)
    with db.begin() as conn:
        conn.execute(sa.insert(p), [
            {"broker_account_id": account, "ticker": "MSFT", "quantity": Decimal("2.5"),
             "cost_basis": Decimal("750.10"), "market_value": None, "status": "open",
             "sector": None},
            {"broker_account_id": account, "ticker": "GE", "quantity": Decimal(0),
             "cost_basis": Decimal(0), "market_value": Decimal(0), "status": "closed",
             "sector": "Industrials"}])
        newest = datetime.now(UTC) + timedelta(days=1)
        conn.execute(sa.insert(s).values(
            broker_account_id=account, taken_at=newest, cash=Decimal(1), equity=Decimal(2),
            positions_value=Decimal(1), buying_power=Decimal(1), unrealized_pl=Decimal(0),
            realized_pl_day=Decimal(0), day_pl=Decimal("-12.34"),
            high_water_mark=Decimal("100000.5"), drawdown=Decimal("0.0125"),
            open_positions=2, sector_exposure={}, details={}))
        conn.execute(sa.insert(table_of(RiskTierHistory)).values(
            broker_account_id=account, tier="conservative", change="demoted",
            reason="test", limits={}, metrics={}, effective_from=newest))
        for n in range(2):
            sweep_profit(conn, account, profit=Decimal(100 + n), fraction=0.25, key=f"k{n}")
    with db.connect() as conn:
        cids = ["c0", "nowhere"]
        portable = (read_refs(conn, cids), load_portfolio(conn, account))
        conn.rollback()
        autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
        assert read_batch_pg(autocommit, account, cids) == portable
        assert portable[1].positions.keys() == {"AAPL", "MSFT"}
        assert portable[1].positions["MSFT"].market_value == Decimal("750.10")
        assert (portable[1].day_pl, portable[1].tier) == (Decimal("-12.34"), "conservative")
        assert portable[1].reserve == Decimal("50.25")
        assert read_batch_pg(autocommit, account + 1000, cids) == (portable[0], None)


def test_an_account_without_snapshot_tier_or_reserve_reads_as_the_portable_read_has_it(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    service, _ = _service(db, settings, client)
    with db.connect() as conn:
        expected = load_portfolio(conn, service.account_id)
        conn.rollback()
        autocommit = conn.execution_options(isolation_level="AUTOCOMMIT")
        assert read_batch_pg(autocommit, service.account_id, []) == ({}, expected)
    assert expected.tier is None and expected.positions == {}


def test_the_services_connection_broken_between_batches_is_replaced_and_places_once(
    db: Engine, settings: Settings, client: redis.Redis,
) -> None:
    service, broker = _service(db, settings, client)
    assert service.place(_job(service, "c0")) is OrderStatus.FILLED
    with db.connect() as conn:  # the session whose last statement was the booking's
        killed = conn.exec_driver_sql(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE starts_with(query, 'EXECUTE stonks_booking_write')").scalars().all()
    assert killed == [True]
    assert service.place(_job(service, "c1")) is OrderStatus.FILLED
    assert broker.calls == 2
    assert [(o.client_order_id, o.status) for o in _rows(db, Order)] == [
        ("c0", "filled"), ("c1", "filled")]
    service.close()

