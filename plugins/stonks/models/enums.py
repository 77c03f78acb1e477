"""Vocabularies shared by several tables (each table's own enums live with the table)."""

from __future__ import annotations

from enum import StrEnum


class Direction(StrEnum):
    """Which way a signal, trend or recommendation points for the stock."""

    BULLISH = "bullish"
    BEARISH = "bearish"
    NEUTRAL = "neutral"


class Horizon(StrEnum):
    """How long a signal is expected to matter."""

    INTRADAY = "intraday"
    SHORT = "short"
    MEDIUM = "medium"
    LONG = "long"


class OrderSide(StrEnum):
    """Buy or sell, for decisions and orders."""

    BUY = "buy"
    SELL = "sell"


class TradingMode(StrEnum):
    """Whether a recommendation may trade, and against which account kind."""

    PAPER = "paper"
    LIVE = "live"
    ADVISORY = "advisory"
