"""Which broker adapter the settings ask for."""

from __future__ import annotations

import redis

from realtime.broker.base import Broker
from realtime.broker.simulated import SimulatedBroker
from realtime.market_data import BarStore
from stonks.config import Settings


def make_broker(settings: Settings, client: redis.Redis, bars: BarStore | None = None) -> Broker:
    """The Alpaca adapter when configured, else the simulated broker."""
    if settings.broker == "alpaca":
        from realtime.broker.alpaca import AlpacaBroker  # alpaca-py loads only when used

        return AlpacaBroker.from_settings(settings)
    name = settings.broker_account_name or "simulated-paper"
    return SimulatedBroker(client, name, settings, bars)
