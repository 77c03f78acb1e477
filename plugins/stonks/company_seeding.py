"""Seeding the ``companies`` table from the universe through the ingestion queue.

Each company travels as a :class:`CompanyListing` message; the handler upserts by ticker
in one transaction per batch, so a redelivered or re-run batch changes nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy.engine import Engine

from stonks.db.conflict import conflict_insert, table_of
from stonks.models import Company
from stonks.models.types import utcnow
from stonks.queues import Delivery, QueueMessage
from stonks.universe import UniverseCompany


class CompanyListing(QueueMessage):
    """A company of the universe as a source lists it."""

    SCHEMA = "ingestion.company"
    VERSION = 1

    ticker: str
    name: str
    sector: str | None = None
    industry: str | None = None
    tracked: bool = False


def listings(
    companies: Iterable[UniverseCompany], tracked: Iterable[str]
) -> list[CompanyListing]:
    tracked_set = set(tracked)
    return [
        CompanyListing(
            message_id=f"company:{c.ticker}",
            ticker=c.ticker,
            name=c.name,
            sector=c.sector or None,
            industry=c.industry or None,
            tracked=c.ticker in tracked_set,
        )
        for c in companies
    ]


class CompanyUpserter:
    """Queue handler: insert or update companies by ticker, committing before the ack."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def __call__(self, deliveries: Sequence[Delivery[CompanyListing]]) -> None:
        latest = {d.message.ticker: d.message for d in deliveries}  # last one wins in a batch
        rows = [
            {
                "ticker": m.ticker, "name": m.name, "sector": m.sector,
                "industry": m.industry, "tracked": m.tracked, "active": True,
            }
            for m in latest.values()
        ]
        statement = conflict_insert(self.engine.dialect.name, table_of(Company)).values(rows)
        statement = statement.on_conflict_do_update(
            index_elements=["ticker"],
            set_={
                "name": statement.excluded.name,
                "sector": statement.excluded.sector,
                "industry": statement.excluded.industry,
                "tracked": statement.excluded.tracked,
                "updated_at": utcnow(),
            },
        )
        with self.engine.begin() as conn:
            conn.execute(statement)
