"""Circuit breaker and reconciliation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from realtime.api.deps import ControlDep
from realtime.api.schemas import Actor, ReconcileRequest

router = APIRouter(tags=["risk"])


@router.get("/circuit-breaker")
def breaker(control: ControlDep) -> dict[str, Any]:
    state = control.breaker_state()
    return {"tripped": state.tripped, "breaker": state.breaker, "reason": state.reason}


@router.post("/circuit-breaker/reset")
def reset_breaker(body: Actor, control: ControlDep) -> dict[str, Any]:
    state = control.reset_breaker(body.actor)
    return {"tripped": state.tripped}


@router.post("/reconcile")
def reconcile(body: ReconcileRequest, control: ControlDep) -> dict[str, Any]:
    result = control.reconcile(adopt=body.adopt)
    return {"status": result.status.value, "differences": result.differences}
