"""``stonks db upgrade|downgrade|current``: the schema, through Alembic migrations only."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("db", help="apply or inspect database migrations")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    upgrade = actions.add_parser("upgrade", help="migrate the database up (default: head)")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(handler=db_upgrade)
    downgrade = actions.add_parser("downgrade", help="migrate the database down to REVISION")
    downgrade.add_argument("revision", help="target revision, e.g. -1 or base")
    downgrade.set_defaults(handler=db_downgrade)
    current = actions.add_parser("current", help="show the database's revision")
    current.set_defaults(handler=db_current)


def _url() -> str:
    from stonks.config import get_settings

    return get_settings().effective_database_url


def _shown(url: str) -> str:
    from stonks.db import safe_url

    return safe_url(url)


def db_upgrade(args: argparse.Namespace) -> int:
    from stonks.db.migrate import current, upgrade

    url = _url()
    upgrade(url, args.revision)
    print(f"database {_shown(url)} at revision {current(url)}")
    return 0


def db_downgrade(args: argparse.Namespace) -> int:
    from stonks.db.migrate import current, downgrade

    url = _url()
    downgrade(url, args.revision)
    print(f"database {_shown(url)} at revision {current(url) or 'base'}")
    return 0


def db_current(_args: argparse.Namespace) -> int:
    from stonks.db.migrate import current

    url = _url()
    print(f"database {_shown(url)} at revision {current(url) or 'base (empty)'}")
    return 0
