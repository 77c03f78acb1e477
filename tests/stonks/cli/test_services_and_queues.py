"""The ``stonks`` CLI as a user runs it: a subprocess in an empty working directory."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from stonks import redis_keys


def run_cli(
    cwd: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("STONKS_")}
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "stonks", *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def workdir(tmp_path: Path) -> Iterator[Path]:
    yield tmp_path
    run_cli(tmp_path, "services", "down")


def test_every_command_has_help(tmp_path: Path) -> None:
    for command in (
        [],
        ["services"],
        ["services", "up"],
        ["db"],
        ["db", "upgrade"],
        ["pipeline"],
        ["pipeline", "off"],
        ["queues"],
        ["dlq"],
        ["dlq", "list"],
        ["dlq", "replay"],
        ["demo"],
    ):
        result = run_cli(tmp_path, *command, "--help")
        assert result.returncode == 0, result.stderr
        assert "usage: stonks" in result.stdout


def test_embedded_redis_starts_reports_and_stops(workdir: Path) -> None:
    down = run_cli(workdir, "services", "status")
    assert down.returncode == 1 and "stopped" in down.stdout
    assert run_cli(workdir, "queues").returncode == 2
    assert "stonks services up" in run_cli(workdir, "queues").stderr

    up = run_cli(workdir, "services", "up")
    assert up.returncode == 0, up.stderr
    assert (workdir / ".stonks" / "redis" / "redis.sock").exists()
    status = run_cli(workdir, "services", "status")
    assert status.returncode == 0 and "running" in status.stdout
    again = run_cli(workdir, "services", "up")
    assert again.returncode == 0 and again.stdout.split()[3] == up.stdout.split()[3]  # same pid

    assert run_cli(workdir, "services", "down").stdout.strip() == "redis: stopped"
    assert "stopped" in run_cli(workdir, "services", "status").stdout


def test_pipeline_toggle_and_dlq_commands_on_external_redis(
    tmp_path: Path, redis_url: str, redis_client: redis.Redis
) -> None:
    env = {"STONKS_REDIS_URL": redis_url}
    assert run_cli(tmp_path, "pipeline", "off", env=env).stdout.strip() == "pipeline: DISABLED"
    assert redis_client.get(redis_keys.PIPELINE_ENABLED) == b"0"
    assert run_cli(tmp_path, "pipeline", "status", env=env).stdout.strip() == "pipeline: DISABLED"
    assert run_cli(tmp_path, "pipeline", "on", env=env).stdout.strip() == "pipeline: enabled"

    redis_client.xadd(
        redis_keys.dlq("aggregation"),
        {
            "queue": "aggregation",
            "entry_id": "1-0",
            "error": "rejected: body is not JSON",
            "deliveries": "1",
            "failed_at": "2026-11-24T00:00:00+00:00",
            "orig:schema": "aggregation.job",
            "orig:v": "1",
            "orig:body": "{oops",
        },
    )
    listing = run_cli(tmp_path, "dlq", "list", "aggregation", env=env)
    assert "1 dead letter(s)" in listing.stdout
    assert "rejected: body is not JSON" in listing.stdout
    queues = run_cli(tmp_path, "queues", "aggregation", env=env)
    assert queues.stdout.splitlines()[1].split() == ["aggregation", "0", "0", "0", "0", "1"]

    replay = run_cli(tmp_path, "dlq", "replay", "aggregation", env=env)
    assert replay.stdout.strip() == "replayed 1 dead letter(s) onto stonks:queue:aggregation"
    entries = redis_client.xrange(redis_keys.queue("aggregation"))
    assert len(entries) == 1
    assert entries[0][1][b"body"] == b"{oops" and entries[0][1][b"schema"] == b"aggregation.job"
    assert redis_client.xlen(redis_keys.dlq("aggregation")) == 0


def test_invalid_configuration_exits_with_one_clear_line(tmp_path: Path) -> None:
    result = run_cli(tmp_path, "queues", env={"STONKS_REDIS_URL": "http://nope"})
    assert result.returncode == 2
    expected = "stonks: error: invalid configuration: STONKS_REDIS_URL"
    assert result.stderr.strip().startswith(expected)
    assert "Traceback" not in result.stderr
