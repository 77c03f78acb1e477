"""What the decision store reads back: positions that change between batches are seen by
the next one."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.sql import table_of
from realtime.trading.store import DecisionStore
from stonks.models.orders import BrokerAccount
from stonks.models.portfolio import Position
from tests.realtime.conftest import seeded_engine


@pytest.fixture
def db(each_dialect_url: str) -> Iterator[Engine]:
    with seeded_engine(each_dialect_url) as engine:
        yield engine


def an_account(db: Engine) -> int:
    a = table_of(BrokerAccount)
    with db.begin() as conn:
        return int(conn.execute(sa.insert(a).values(
            name="store-test", broker="simulated", environment="paper", cash=Decimal(10_000),
            equity=Decimal(10_000), reconciliation_status="reconciled").returning(a.c.id))
            .scalar_one())


def open_position(db: Engine, account: int, ticker: str, quantity: str) -> None:
    with db.begin() as conn:
        conn.execute(sa.insert(table_of(Position)).values(
            broker_account_id=account, ticker=ticker, quantity=Decimal(quantity),
            cost_basis=Decimal(100), market_value=Decimal("123.45"), sector="Energy"))


def test_each_read_sees_the_positions_as_they_are_now(db: Engine) -> None:
    account = an_account(db)
    store = DecisionStore(db, account)
    try:
        assert store.read([], []).portfolio.positions == {}
        open_position(db, account, "XOM", "2.5")
        [xom] = store.read([], []).portfolio.positions.values()
        assert (xom.ticker, xom.quantity, xom.market_value, xom.sector) == (
            "XOM", Decimal("2.5"), Decimal("123.45"), "Energy")
        assert list(store.read([], []).portfolio.positions) == ["XOM"]
        with db.begin() as conn:
            conn.execute(sa.update(table_of(Position)).values(quantity=Decimal("1.25")))
        assert store.read([], []).portfolio.positions["XOM"].quantity == Decimal("1.25")
        open_position(db, account, "CVX", "1")
        positions = store.read([], []).portfolio.positions
        assert {t: p.quantity for t, p in positions.items()} == {
            "CVX": Decimal(1), "XOM": Decimal("1.25")}
    finally:
        store.close()
