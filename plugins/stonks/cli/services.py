"""``stonks services up|down|status``: the embedded Redis server and what the system talks to."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the CLI imports heavy libraries only for the command that runs
    from stonks.config import Settings
    from stonks.embedded import RedisServer



def embedded_redis(settings: Settings) -> RedisServer:
    from stonks.embedded import RedisServer

    return RedisServer(settings.embedded_redis_dir)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("services", help="start, stop or inspect the embedded services")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser("up", help="start the embedded Redis (no-op for external services)")
    up.set_defaults(handler=services_up)
    down = actions.add_parser("down", help="stop the embedded Redis")
    down.set_defaults(handler=services_down)
    status = actions.add_parser("status", help="show what is configured and reachable")
    status.set_defaults(handler=services_status)


def services_up(_args: argparse.Namespace) -> int:
    from stonks.config import get_settings
    from stonks.redis_client import connect, redact_url

    settings = get_settings()
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    settings.effective_lake_path.mkdir(parents=True, exist_ok=True)
    if not settings.uses_embedded_redis:
        connect(settings=settings).close()
        print(f"redis: external at {redact_url(settings.effective_redis_url)} (reachable)")
        return 0
    status = embedded_redis(settings).start(detach=True)
    print(f"redis: embedded, pid {status.pid}, {status.url}")
    print(f"lake:  {settings.effective_lake_path}")
    return 0


def services_down(_args: argparse.Namespace) -> int:
    from stonks.config import get_settings

    settings = get_settings()
    if not settings.uses_embedded_redis:
        print("redis: external; nothing to stop")
        return 0
    stopped = embedded_redis(settings).stop()
    print("redis: stopped" if stopped else "redis: was not running")
    return 0


def services_status(_args: argparse.Namespace) -> int:
    from stonks.config import get_settings
    from stonks.errors import ServiceError
    from stonks.redis_client import connect, redact_url

    settings = get_settings()
    print(f"mode:     {settings.mode.value}")
    healthy = True
    if settings.uses_embedded_redis:
        status = embedded_redis(settings).status()
        state = f"running (pid {status.pid})" if status.running else "stopped"
        healthy &= status.running
        print(f"redis:    embedded, {state}, {status.url}")
    else:
        try:
            connect(settings=settings).close()
            state = "reachable"
        except ServiceError as exc:
            state, healthy = f"UNREACHABLE ({exc})", False
        print(f"redis:    external, {state}, {redact_url(settings.effective_redis_url)}")
    print(f"database: {redact_url(settings.effective_database_url)}")
    print(f"lake:     {settings.effective_lake_path}")
    return 0 if healthy else 1
