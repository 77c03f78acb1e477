"""The bar store's snapshot: the last bar final at a moment, built once per bar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from realtime.market_data import BarStore


def test_a_snapshot_is_the_last_final_bar_and_is_built_once_per_bar() -> None:
    bars = BarStore()
    moment = datetime(2010, 8, 20, 15, 0, tzinfo=UTC)
    snap = bars.snapshot("AAPL", moment)
    daily = bars.daily("AAPL")
    n = bars.count_until("AAPL", moment)
    assert snap is not None and daily is not None and n > 20
    assert snap.close == float(daily.close[n - 1]) and snap.volume == float(daily.volume[n - 1])
    assert snap.avg_volume_20 == float(np.mean(daily.volume[n - 20:n]))
    assert snap.bar_at <= moment
    assert bars.snapshot("AAPL", moment + timedelta(minutes=1)) is snap, "same bar: reused"
    later = moment + timedelta(days=3)
    assert bars.count_until("AAPL", later) > n
    newer = bars.snapshot("AAPL", later)
    assert newer is not None and newer.bar_at > snap.bar_at


def test_no_snapshot_before_the_first_bar_or_for_an_unknown_ticker() -> None:
    bars = BarStore()
    assert bars.snapshot("AAPL", datetime(1990, 1, 2, tzinfo=UTC)) is None
    assert bars.snapshot("NOSUCH", datetime(2010, 8, 20, tzinfo=UTC)) is None
