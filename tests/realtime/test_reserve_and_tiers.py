"""The reserve pool sweeps realised profit once per fill; tiers move with performance."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from realtime.broker import ensure_account
from realtime.broker.factory import make_broker
from realtime.risk.limits import current_tier, review_tier
from realtime.risk.reserve import reserve_balance, sweep_profit
from realtime.sql import table_of
from stonks.config import Settings
from stonks.models.risk import RiskTierHistory


def test_profit_sweep_is_idempotent_and_losses_sweep_nothing(
    db: Engine, settings: Settings, redis_client: redis.Redis,
) -> None:
    account = ensure_account(db, settings, make_broker(settings, redis_client))
    with db.begin() as conn:
        assert sweep_profit(conn, account, profit=Decimal(400), fraction=0.25,
                            key="sweep:1:a") == Decimal("100.00")
        assert sweep_profit(conn, account, profit=Decimal(400), fraction=0.25,
                            key="sweep:1:a") is None  # the same fill again
        assert sweep_profit(conn, account, profit=Decimal(-50), fraction=0.25,
                            key="sweep:2:a") is None
        assert reserve_balance(conn, account) == Decimal("100.00")


def test_tiers_promote_after_winning_and_demote_after_losing(
    db: Engine, settings: Settings, redis_client: redis.Redis,
) -> None:
    account = ensure_account(db, settings, make_broker(settings, redis_client))
    with db.begin() as conn:
        tier = current_tier(conn, account, "standard")
        assert review_tier(conn, account, tier, wins=5, losses=3,
                           at=datetime(2010, 8, 1, tzinfo=UTC)) == "standard"  # too few
        up = review_tier(conn, account, tier, wins=8, losses=2,
                         at=datetime(2010, 8, 2, tzinfo=UTC))
        down = review_tier(conn, account, up, wins=2, losses=8,
                           at=datetime(2010, 8, 3, tzinfo=UTC))
        assert (up, down) == ("aggressive", "standard")
        assert current_tier(conn, account, "standard") == "standard"
        changes = [r.change for r in conn.execute(sa.select(table_of(RiskTierHistory))
                                                  .order_by(table_of(RiskTierHistory).c.id))]
    assert changes == ["initial", "promoted", "demoted"]
