"""``stonks demo``: run what exists of the pipeline end to end on the embedded default."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("demo", help="run the end-to-end demo on the embedded default")
    parser.add_argument("--keep-services", action="store_true",
                        help="leave the embedded Redis running afterwards")
    parser.set_defaults(handler=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from stonks.demo import run

    return run(keep_services=args.keep_services)
