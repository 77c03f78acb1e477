"""Broker adapters (Alpaca via alpaca-py, the simulated broker) and the order placement path."""

from realtime.broker.base import (
    AccountState,
    Broker,
    BrokerOrder,
    BrokerPosition,
    Fill,
    OrderRequest,
)
from realtime.broker.errors import (
    BrokerAuthError,
    BrokerError,
    BrokerTimeout,
    BrokerUnavailable,
    NotReconciled,
    OrderRejected,
)
from realtime.broker.factory import make_broker
from realtime.broker.reconcile import account_name, ensure_account, reconcile
from realtime.broker.service import BrokerService
from realtime.broker.simulated import SimulatedBroker

__all__ = [
    "AccountState",
    "Broker",
    "BrokerAuthError",
    "BrokerError",
    "BrokerOrder",
    "BrokerPosition",
    "BrokerService",
    "BrokerTimeout",
    "BrokerUnavailable",
    "Fill",
    "NotReconciled",
    "OrderRejected",
    "OrderRequest",
    "SimulatedBroker",
    "account_name",
    "ensure_account",
    "make_broker",
    "reconcile",
]
