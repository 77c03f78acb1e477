"""Unique, check and foreign-key constraints hold in the migrated database.

These are the last guard of idempotent handlers: a redelivered job that tries to write the
same document, order or decision again must fail at the database, not create a twin.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from stonks.models import (
    CompanyAlias,
    Document,
    DocumentCompanyMention,
    Order,
    OrderEvent,
    OrderStatus,
    Position,
)
from tests.stonks.db import rows


def test_duplicate_document_content_hash_is_rejected(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        source = rows.add_source(session)
        session.add(rows.document(source, "a" * 64, external_id="first"))
        session.commit()
        session.add(rows.document(source, "a" * 64, external_id="second"))
        with pytest.raises(sa.exc.IntegrityError, match="uq_documents_content_hash"):
            session.commit()


def test_duplicate_client_order_id_is_rejected(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        account = rows.add_account(session)
        session.add(rows.order(account, "stonks-rec-1"))
        session.commit()
        session.add(rows.order(account, "stonks-rec-1"))
        with pytest.raises(sa.exc.IntegrityError, match="uq_orders_client_order_id"):
            session.commit()


def test_second_decision_for_one_recommendation_is_rejected(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        account = rows.add_account(session)
        recommendation = rows.add_recommendation(session, rows.add_company(session))
        session.add(rows.decision(account, recommendation, key="rec:1"))
        session.commit()
        session.add(rows.decision(account, recommendation, key="rec:1-again"))
        with pytest.raises(sa.exc.IntegrityError, match="uq_trading_decisions_recommendation_id"):
            session.commit()


def test_decisions_without_recommendation_may_coexist(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        account = rows.add_account(session)
        session.add(rows.decision(account, None, key="exit:1"))
        session.add(rows.decision(account, None, key="exit:2"))
        session.commit()


def test_order_event_is_recorded_once_per_broker_event(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        order = rows.order(rows.add_account(session), "stonks-rec-2")
        session.add(order)
        session.flush()
        assert order.id is not None
        for _ in range(2):
            session.add(
                OrderEvent(
                    order_id=order.id,
                    event_key="exec-1",
                    event_type="fill",
                    fill_quantity=Decimal("1.5"),
                    occurred_at=rows.T0,
                )
            )
        with pytest.raises(sa.exc.IntegrityError, match="uq_order_events_order_id_event_key"):
            session.commit()


def test_one_position_per_account_and_ticker(pg_engine: Engine) -> None:
    with Session(pg_engine) as session:
        account = rows.add_account(session)
        assert account.id is not None
        session.add(Position(broker_account_id=account.id, ticker="AAPL"))
        session.commit()
        session.add(Position(broker_account_id=account.id, ticker="AAPL"))
        with pytest.raises(sa.exc.IntegrityError, match="uq_positions_broker_account_id_ticker"):
            session.commit()


def test_upsert_on_content_hash_keeps_one_document(pg_engine: Engine) -> None:
    from sqlalchemy.dialects.postgresql import insert

    with Session(pg_engine) as session:
        source = rows.add_source(session)
        values = rows.document(source, "b" * 64).model_dump(exclude={"id"})
        for _ in range(3):
            statement = (
                insert(Document)
                .values(**values)
                .on_conflict_do_nothing(index_elements=["content_hash"])
            )
            session.execute(statement)
        session.commit()
        assert len(session.exec(select(Document)).all()) == 1


def test_check_constraint_rejects_unknown_order_status(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        order = rows.order(rows.add_account(session), "stonks-rec-3")
        session.add(order)
        session.commit()
        with pytest.raises(sa.exc.IntegrityError, match="ck_orders_status"):
            session.execute(
                sa.text("UPDATE orders SET status = 'teleported' WHERE id = :id"),
                {"id": order.id},
            )


def test_enum_column_refuses_unknown_value_before_the_database(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        order = rows.order(rows.add_account(session), "stonks-rec-4")
        order.status = "teleported"  # type: ignore[assignment]
        session.add(order)
        with pytest.raises(sa.exc.StatementError, match="not a valid OrderStatus"):
            session.commit()


def test_enum_column_loads_enum_members(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        session.add(rows.order(rows.add_account(session), "stonks-rec-5"))
        session.commit()
    with Session(db_engine) as session:
        loaded = session.exec(select(Order)).one()
        assert loaded.status is OrderStatus.INTENT


def test_foreign_keys_are_enforced(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        session.add(CompanyAlias(company_id=999_999, alias="ghost"))
        with pytest.raises(sa.exc.IntegrityError):
            session.commit()


def test_deleting_a_document_cascades_to_its_mentions(db_engine: Engine) -> None:
    with Session(db_engine) as session:
        company = rows.add_company(session)
        document = rows.document(rows.add_source(session), "c" * 64)
        session.add(document)
        session.flush()
        assert document.id is not None and company.id is not None
        session.add(
            DocumentCompanyMention(
                document_id=document.id,
                company_id=company.id,
                ticker=company.ticker,
                published_at=rows.T0,
            )
        )
        session.commit()
        session.execute(sa.delete(Document).where(col(Document.id) == document.id))
        session.commit()
        assert session.exec(select(DocumentCompanyMention)).all() == []
