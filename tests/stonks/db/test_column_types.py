"""Timestamps come back aware UTC and money comes back exact, whatever the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, select

from stonks.models import Order, OrderEvent, PortfolioSnapshot
from tests.stonks.db import rows

NEW_YORK_WINTER = timezone(timedelta(hours=-5))


def test_aware_timestamp_round_trips_as_utc(db_engine: Engine) -> None:
    written = datetime(2010, 3, 1, 9, 30, 0, 123456, tzinfo=NEW_YORK_WINTER)
    with Session(db_engine) as session:
        account = rows.add_account(session)
        assert account.id is not None
        session.add(
            PortfolioSnapshot(
                broker_account_id=account.id, taken_at=written, cash=Decimal(1), equity=Decimal(1)
            )
        )
        session.commit()
    with Session(db_engine) as session:
        loaded = session.exec(select(PortfolioSnapshot)).one()
        assert loaded.taken_at == written
        assert loaded.taken_at.tzinfo is UTC
        assert loaded.taken_at == datetime(2010, 3, 1, 14, 30, 0, 123456, tzinfo=UTC)
        assert loaded.created_at.tzinfo is UTC


def test_server_default_created_at_is_aware_utc(db_engine: Engine) -> None:
    with db_engine.begin() as connection:
        connection.execute(
            sa.text("INSERT INTO ai_agents (key, name, enabled) VALUES ('x', 'X', :enabled)"),
            {"enabled": True},
        )
    with Session(db_engine) as session:
        from stonks.models import AiAgent

        agent = session.exec(select(AiAgent)).one()
        assert agent.created_at.tzinfo is UTC
        assert abs(agent.created_at - datetime.now(UTC)) < timedelta(minutes=5)


def test_naive_timestamp_is_refused(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        account = rows.add_account(session)
        assert account.id is not None
        session.add(
            PortfolioSnapshot(
                broker_account_id=account.id,
                taken_at=datetime(2010, 3, 1, 14, 30),
                cash=Decimal(1),
                equity=Decimal(1),
            )
        )
        with pytest.raises(sa.exc.StatementError, match="naive datetime"):
            session.commit()


def test_naive_timestamp_is_refused_in_queries_too(db_engine: Engine) -> None:
    with Session(db_engine) as session, pytest.raises(sa.exc.StatementError, match="naive"):
        session.exec(
            select(PortfolioSnapshot).where(PortfolioSnapshot.taken_at > datetime(2010, 1, 1))
        ).all()


def test_timestamp_comparisons_use_utc(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        account = rows.add_account(session)
        assert account.id is not None
        for hour in (13, 15):
            session.add(
                PortfolioSnapshot(
                    broker_account_id=account.id,
                    taken_at=datetime(2010, 3, 1, hour, tzinfo=UTC),
                    cash=Decimal(1),
                    equity=Decimal(1),
                )
            )
        session.commit()
        nine_thirty_new_york = datetime(2010, 3, 1, 9, 30, tzinfo=NEW_YORK_WINTER)
        later = session.exec(
            select(PortfolioSnapshot).where(PortfolioSnapshot.taken_at > nine_thirty_new_york)
        ).all()
        assert [s.taken_at.hour for s in later] == [15]


def test_decimal_round_trips_exactly_on_postgresql(pg_engine: Engine) -> None:
    quantity = Decimal("123456789012.12345678")  # 20 digits, 8 after the point
    price = Decimal("0.00000001")
    fee = Decimal("9999999999999999.9999")  # NUMERIC(20, 4) at its limit
    with Session(pg_engine) as session:
        order = rows.order(rows.add_account(session), "stonks-dec-1")
        order.quantity = quantity
        order.limit_price = price
        order.fees = fee
        session.add(order)
        session.flush()
        assert order.id is not None
        session.add(
            OrderEvent(
                order_id=order.id,
                event_key="exec-1",
                event_type="fill",
                fill_quantity=Decimal("0.1") + Decimal("0.2"),
                occurred_at=rows.T0,
            )
        )
        session.commit()
    with Session(pg_engine) as session:
        loaded = session.exec(select(Order)).one()
        assert isinstance(loaded.quantity, Decimal)
        assert loaded.quantity == quantity
        assert loaded.limit_price == price
        assert loaded.fees == fee
        event = session.exec(select(OrderEvent)).one()
        assert event.fill_quantity == Decimal("0.3")
        total = session.exec(select(sa.func.sum(OrderEvent.fill_quantity))).one()
        assert total == Decimal("0.3")


def test_decimal_beyond_scale_is_rounded_by_postgresql(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        order = rows.order(rows.add_account(session), "stonks-dec-2")
        order.quantity = Decimal("1.123456789")
        session.add(order)
        session.commit()
        session.refresh(order)
        assert order.quantity == Decimal("1.12345679")
