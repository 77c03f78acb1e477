"""``stonks queues`` and ``stonks dlq list|replay NAME``: queue depth and dead letters."""

from __future__ import annotations

import argparse

from stonks.redis_keys import QueueName


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    queues = commands.add_parser("queues", help="length, pending and consumers of every queue")
    queues.add_argument("names", nargs="*", help="queues to show (default: all)")
    queues.set_defaults(handler=show_queues)

    dlq = commands.add_parser("dlq", help="inspect or replay a queue's dead letters")
    actions = dlq.add_subparsers(dest="action", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="show the oldest dead letters of queue NAME")
    listing.add_argument("name", help=f"queue name, e.g. {QueueName.AGGREGATION.value}")
    listing.add_argument("--limit", type=int, default=20)
    listing.set_defaults(handler=dlq_list)
    replay = actions.add_parser("replay", help="put dead letters back on queue NAME")
    replay.add_argument("name")
    replay.add_argument("--id", dest="ids", action="append", help="replay only this DLQ id")
    replay.add_argument("--limit", type=int, default=1000, help="at most this many (default 1000)")
    replay.set_defaults(handler=dlq_replay)


def show_queues(args: argparse.Namespace) -> int:
    from stonks.queues import queue_stats
    from stonks.redis_client import connect

    client = connect()
    try:
        stats = queue_stats(client, args.names or None)
    finally:
        client.close()
    print(f"{'queue':<22}{'length':>8}{'pending':>9}{'consumers':>11}{'retrying':>10}{'dlq':>6}")
    for item in stats:
        pending = sum(group.pending for group in item.groups)
        consumers = sum(group.consumers for group in item.groups)
        print(
            f"{item.queue:<22}{item.length:>8}{pending:>9}{consumers:>11}"
            f"{item.waiting_retry:>10}{item.dead_letters:>6}"
        )
    return 0


def dlq_list(args: argparse.Namespace) -> int:
    from stonks.queues import DeadLetters
    from stonks.redis_client import connect

    client = connect()
    try:
        dead = DeadLetters(client, args.name)
        letters = dead.oldest(args.limit)
        total = dead.count()
    finally:
        client.close()
    print(f"{total} dead letter(s) in {dead.stream}")
    for letter in letters:
        print(f"- {letter.dlq_id}  failed {letter.failed_at}  deliveries {letter.deliveries}")
        print(f"    error: {letter.error}")
        print(f"    body:  {letter.body_preview}")
    return 0


def dlq_replay(args: argparse.Namespace) -> int:
    from stonks.queues import DeadLetters
    from stonks.redis_client import connect

    client = connect()
    try:
        moved = DeadLetters(client, args.name).replay(args.ids, limit=args.limit)
    finally:
        client.close()
    print(f"replayed {moved} dead letter(s) onto stonks:queue:{args.name}")
    return 0
