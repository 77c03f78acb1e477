"""Dependencies: the app's services and connections, from ``app.state``."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from realtime.services import ControlService


def get_control(request: Request) -> ControlService:
    service: ControlService = request.app.state.control
    return service


ControlDep = Annotated[ControlService, Depends(get_control)]
