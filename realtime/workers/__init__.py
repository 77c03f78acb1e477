"""Queue workers: one process per (queue, slot), all in the queue's consumer group."""

from realtime.workers.runtime import QUEUES, build_worker

__all__ = ["QUEUES", "build_worker"]
