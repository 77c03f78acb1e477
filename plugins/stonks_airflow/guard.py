"""The pipeline-toggle guard every task passes through.

``stonks:pipeline:enabled`` = "0" (``stonks pipeline off``) makes every guarded task end as
*skipped*, not failed, before it touches any source or database.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from airflow.sdk.exceptions import AirflowSkipException

from stonks.config import get_settings
from stonks.queues import PipelineToggle
from stonks.redis_client import connect
from stonks.redis_keys import PIPELINE_ENABLED

logger = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")


def pipeline_guard() -> None:
    """Raise ``AirflowSkipException`` when the pipeline toggle is off."""
    client = connect(settings=get_settings())
    try:
        enabled = PipelineToggle(client).is_enabled()
    finally:
        client.close()
    if not enabled:
        logger.warning("pipeline is paused; skipping task", extra={"key": PIPELINE_ENABLED})
        raise AirflowSkipException(f"pipeline is paused ({PIPELINE_ENABLED} = 0)")


def guarded(function: Callable[P, R]) -> Callable[P, R]:
    """Wrap a task callable so it runs only while the pipeline is enabled."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        pipeline_guard()
        return function(*args, **kwargs)

    return wrapper
