"""Entry point of the ``stonks`` command: parses arguments and dispatches to a command module."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from stonks.cli import (
    db_commands,
    demo_command,
    pipeline_commands,
    queue_commands,
    realtime_commands,
    services,
)
from stonks.errors import StonksError

logger = logging.getLogger("stonks.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stonks",
        description="Stonks Oracle: automated equity research and paper trading.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log at DEBUG level")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    services.register(commands)
    db_commands.register(commands)
    pipeline_commands.register(commands)
    queue_commands.register(commands)
    demo_command.register(commands)
    realtime_commands.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    try:
        code: int = args.handler(args)
    except StonksError as exc:
        print(f"stonks: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
