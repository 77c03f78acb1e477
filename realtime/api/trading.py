"""Recommendations, decisions, orders (approval queue) and positions."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from realtime.api.deps import ControlDep
from realtime.api.schemas import Actor, OverrideOrder
from stonks.models.orders import OrderStatus

router = APIRouter(tags=["trading"])


@router.get("/recommendations")
def list_recommendations(control: ControlDep, ticker: str | None = Query(None, max_length=16),
                         limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    return control.recommendations(ticker=ticker, limit=limit)


@router.get("/decisions")
def list_decisions(control: ControlDep,
                   limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    return control.decisions(limit=limit)


@router.get("/orders")
def list_orders(control: ControlDep, status: OrderStatus | None = None,
                limit: int = Query(50, ge=1, le=500)) -> list[dict[str, Any]]:
    return control.orders_list(status=status, limit=limit)


@router.post("/orders/{order_id}/approve")
def approve_order(order_id: int, body: Actor, control: ControlDep) -> dict[str, Any]:
    return control.approve(order_id, body.actor)


@router.post("/orders/{order_id}/reject")
def reject_order(order_id: int, body: Actor, control: ControlDep) -> dict[str, Any]:
    return control.reject(order_id, body.actor, body.reason)


@router.get("/positions")
def list_positions(control: ControlDep, include_closed: bool = False) -> list[dict[str, Any]]:
    return control.positions(include_closed=include_closed)


@router.post("/override/order")
def override_order(body: OverrideOrder, control: ControlDep) -> dict[str, Any]:
    return control.override_order(ticker=body.ticker, side=body.side, quantity=body.quantity,
                                  actor=body.actor, as_of=body.as_of,
                                  idempotency_key=body.idempotency_key)
