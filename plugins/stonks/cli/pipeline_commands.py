"""``stonks pipeline status|on|off``: the global toggle that pauses every consumer and task."""

from __future__ import annotations

import argparse


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("pipeline", help="pause or resume the whole pipeline")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    for name, help_text in (
        ("status", "show whether the pipeline is enabled"),
        ("on", "enable the pipeline (consumers resume)"),
        ("off", "disable the pipeline (consumers pause; nothing is lost)"),
    ):
        action = actions.add_parser(name, help=help_text)
        action.set_defaults(handler=pipeline_toggle, toggle=name)


def pipeline_toggle(args: argparse.Namespace) -> int:
    from stonks.queues import PipelineToggle
    from stonks.redis_client import connect

    client = connect()
    try:
        toggle = PipelineToggle(client)
        if args.toggle == "on":
            toggle.enable()
        elif args.toggle == "off":
            toggle.disable()
        print(f"pipeline: {'enabled' if toggle.is_enabled() else 'DISABLED'}")
    finally:
        client.close()
    return 0
