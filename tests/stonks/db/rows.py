"""Minimal valid rows for the constraint tests; each builder takes the fields a test varies."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from sqlmodel import Session

from stonks.models import (
    BrokerAccount,
    BrokerKind,
    Company,
    DecisionOutcome,
    DecisionTrigger,
    Direction,
    Document,
    DocumentKind,
    Order,
    OrderSide,
    Recommendation,
    RecommendationAction,
    Source,
    SourceKind,
    TradingDecision,
)

T0 = datetime(2010, 3, 1, 14, 30, tzinfo=UTC)


def add_company(session: Session, ticker: str = "AAPL") -> Company:
    company = Company(ticker=ticker, name=f"{ticker} Inc.", sector="Technology", tracked=True)
    session.add(company)
    session.flush()
    return company


def add_source(session: Session, key: str = "polygon_news") -> Source:
    source = Source(key=key, name="Polygon news", kind=SourceKind.NEWS)
    session.add(source)
    session.flush()
    return source


def document(source: Source, content_hash: str, external_id: str = "a-1") -> Document:
    assert source.id is not None
    return Document(
        source_id=source.id,
        kind=DocumentKind.NEWS,
        external_id=external_id,
        title="Apple beats estimates",
        published_at=T0,
        content_hash=content_hash,
    )


def add_account(session: Session, name: str = "simulated") -> BrokerAccount:
    account = BrokerAccount(name=name, broker=BrokerKind.SIMULATED, cash=Decimal("100000"))
    session.add(account)
    session.flush()
    return account


def add_recommendation(session: Session, company: Company, key: str = "rec-1") -> Recommendation:
    assert company.id is not None
    recommendation = Recommendation(
        idempotency_key=key,
        company_id=company.id,
        ticker=company.ticker,
        action=RecommendationAction.BUY,
        direction=Direction.BULLISH,
        confidence=0.8,
        probability=0.6,
    )
    session.add(recommendation)
    session.flush()
    return recommendation


def decision(
    account: BrokerAccount, recommendation: Recommendation | None, key: str
) -> TradingDecision:
    assert account.id is not None
    return TradingDecision(
        decision_key=key,
        recommendation_id=recommendation.id if recommendation else None,
        broker_account_id=account.id,
        ticker="AAPL",
        trigger=DecisionTrigger.RECOMMENDATION,
        side=OrderSide.BUY,
        outcome=DecisionOutcome.ACT,
        quantity=Decimal("1.5"),
        decided_at=T0,
    )


def order(account: BrokerAccount, client_order_id: str) -> Order:
    assert account.id is not None
    return Order(
        client_order_id=client_order_id,
        broker_account_id=account.id,
        ticker="AAPL",
        side=OrderSide.BUY,
        quantity=Decimal("1.5"),
    )
