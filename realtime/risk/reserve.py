"""The reserve pool: a share of realised profit swept out of trading capital.

Append-only ``reserve_pool_ledger`` rows (idempotent per fill); the balance is the newest
row's ``balance_after``. Sizing treats the reserve as not available to trade.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from realtime.sql import insert_ignore, table_of
from stonks.models.risk import LedgerEntryKind, ReservePoolLedgerEntry


@functools.cache
def _balance_query() -> sa.Select[Any]:
    t = table_of(ReservePoolLedgerEntry)
    return (sa.select(t.c.balance_after).where(t.c.broker_account_id == sa.bindparam("account"))
            .order_by(t.c.id.desc()).limit(1))


def reserve_balance(conn: sa.Connection, account_id: int) -> Decimal:
    value = conn.execute(_balance_query(), {"account": account_id}).scalar()
    return Decimal(value) if value is not None else Decimal(0)


def sweep_profit(conn: sa.Connection, account_id: int, *, profit: Decimal, fraction: float,
                 key: str, order_id: int | None = None) -> Decimal | None:
    """Move ``fraction`` of a realised ``profit`` into the reserve; the amount, if any."""
    if profit <= 0 or fraction <= 0:
        return None
    amount = (profit * Decimal(str(fraction))).quantize(Decimal("0.01"))
    balance = reserve_balance(conn, account_id) + amount
    new = insert_ignore(conn, table_of(ReservePoolLedgerEntry), {
        "idempotency_key": key, "broker_account_id": account_id,
        "kind": LedgerEntryKind.PROFIT_SWEEP.value, "amount": amount, "balance_after": balance,
        "order_id": order_id, "description": f"{fraction:.0%} of realised profit {profit}",
        "occurred_at": datetime.now(UTC)}, ["idempotency_key"])
    return amount if new is not None else None
