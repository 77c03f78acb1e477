"""The pipeline-toggle guard and the pool definitions."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from stonks_airflow.guard import guarded, pipeline_guard
from stonks_airflow.pools import POOLS


def test_guard_skips_when_the_pipeline_is_off(stonks_env: dict[str, str]) -> None:
    from airflow.sdk.exceptions import AirflowSkipException

    client = redis.Redis.from_url(stonks_env["STONKS_REDIS_URL"])
    pipeline_guard()  # missing key: enabled
    calls: list[int] = []

    @guarded
    def work(x: int) -> int:
        calls.append(x)
        return x * 2

    assert work(2) == 4
    client.set("stonks:pipeline:enabled", "0")
    with pytest.raises(AirflowSkipException, match="paused"):
        work(3)
    assert calls == [2]
    client.set("stonks:pipeline:enabled", "1")
    assert work(5) == 10


def test_pools_exist_in_the_metadata_db(airflow_db: Path) -> None:
    from airflow.models.pool import Pool

    for name, (slots, _) in POOLS.items():
        pool = Pool.get_pool(name)
        assert pool is not None and pool.slots == slots


def test_plugin_folder_only_exposes_the_plugin_module() -> None:
    from airflow import plugins_manager

    plugins, errors = plugins_manager._get_plugins()
    assert errors == {}
    assert [p.name for p in plugins] == ["stonks"]
    # The library's files were not imported as top-level modules (e.g. sources/http.py
    # must not shadow the standard library's http).
    import sys

    assert sys.modules["http"].__file__ is not None
    assert sys.modules["http"].__file__.endswith("http/__init__.py")
    assert "process" not in sys.modules and "leases" not in sys.modules
