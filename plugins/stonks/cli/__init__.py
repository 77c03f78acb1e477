"""The ``stonks`` command line: services, database, pipeline toggle, queues and DLQs, demo."""

from stonks.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
