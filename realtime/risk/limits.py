"""Risk limits from settings, scaled by the account's risk tier (``risk_tier_history``)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import sqlalchemy as sa

from realtime.sql import insert_ignore, table_of
from stonks.config import Settings
from stonks.models.risk import RiskTierHistory, TierChange

#: Tier → multiplier on the position cap (tiers are promoted/demoted by performance).
TIERS: dict[str, float] = {"probation": 0.25, "conservative": 0.5, "standard": 1.0,
                           "aggressive": 1.5}
TIER_ORDER = ("probation", "conservative", "standard", "aggressive")


@dataclass(frozen=True)
class RiskLimits:
    """The limits every gate and ``evaluate_order`` read."""

    max_position_fraction: float
    max_sector_fraction: float
    max_positions: int
    daily_loss_limit_fraction: float
    max_drawdown_fraction: float
    max_consecutive_losses: int
    kelly_fraction: float
    min_confidence: float
    max_correlation: float
    earnings_blackout_days: int
    no_entry_after_open_minutes: int
    no_entry_before_close_minutes: int
    min_order_notional: Decimal
    approval_threshold_notional: Decimal | None
    tier: str = "standard"

    @classmethod
    def from_settings(cls, s: Settings) -> RiskLimits:
        return cls(
            max_position_fraction=s.risk_max_position_fraction,
            max_sector_fraction=s.risk_max_sector_fraction,
            max_positions=s.risk_max_positions,
            daily_loss_limit_fraction=s.risk_daily_loss_limit_fraction,
            max_drawdown_fraction=s.risk_max_drawdown_fraction,
            max_consecutive_losses=s.risk_max_consecutive_losses,
            kelly_fraction=s.risk_kelly_fraction,
            min_confidence=s.risk_min_confidence,
            max_correlation=s.risk_max_correlation,
            earnings_blackout_days=s.risk_earnings_blackout_days,
            no_entry_after_open_minutes=s.risk_no_entry_after_open_minutes,
            no_entry_before_close_minutes=s.risk_no_entry_before_close_minutes,
            min_order_notional=Decimal(str(s.risk_min_order_notional)),
            approval_threshold_notional=(None if s.risk_approval_threshold_notional is None
                                         else Decimal(str(s.risk_approval_threshold_notional))),
            tier=s.risk_initial_tier,
        )

    def for_tier(self, tier: str) -> RiskLimits:
        """These limits with the position cap scaled to ``tier``."""
        scale = TIERS.get(tier, 1.0)
        return replace(self, tier=tier,
                       max_position_fraction=min(1.0, self.max_position_fraction * scale))


@functools.cache
def _tier_query() -> sa.Select[Any]:
    t = table_of(RiskTierHistory)
    return (sa.select(t.c.tier).where(t.c.broker_account_id == sa.bindparam("account"))
            .order_by(t.c.effective_from.desc()).limit(1))


def current_tier(conn: sa.Connection, account_id: int, initial: str) -> str:
    """The account's tier (its newest history row), recording ``initial`` if it has none."""
    t = table_of(RiskTierHistory)
    row = conn.execute(_tier_query(), {"account": account_id}).first()
    if row is not None:
        return str(row.tier)
    insert_ignore(conn, t, {"broker_account_id": account_id, "tier": initial,
                            "change": TierChange.INITIAL.value, "reason": "first decision",
                            "limits": {"position_scale": TIERS.get(initial, 1.0)},
                            "metrics": {}, "effective_from": datetime(2000, 1, 1, tzinfo=UTC)},
                  ["broker_account_id", "effective_from"])
    return initial


def review_tier(conn: sa.Connection, account_id: int, current: str, *, wins: int,
                losses: int, at: datetime) -> str:
    """Promote after a run of wins, demote after losses (min 10 closed trades)."""
    closed = wins + losses
    if closed < 10:
        return current
    rate = wins / closed
    index = TIER_ORDER.index(current) if current in TIER_ORDER else 2
    new_index = index + 1 if rate >= 0.6 else index - 1 if rate < 0.4 else index
    new_index = min(max(new_index, 0), len(TIER_ORDER) - 1)
    if new_index == index:
        return current
    new = TIER_ORDER[new_index]
    insert_ignore(conn, table_of(RiskTierHistory), {
        "broker_account_id": account_id, "tier": new, "previous_tier": current,
        "change": (TierChange.PROMOTED if new_index > index else TierChange.DEMOTED).value,
        "reason": f"win rate {rate:.0%} over {closed} closed trades",
        "limits": {"position_scale": TIERS[new]}, "metrics": {"wins": wins, "losses": losses},
        "effective_from": at}, ["broker_account_id", "effective_from"])
    return new
