"""``--concurrency`` of ``python -m realtime.workers``: one count for every queue, or some
queues named with their own count."""

from __future__ import annotations

import pytest

from realtime.workers.__main__ import main, parse_concurrency

QUEUES = ["aggregation", "recommendation", "trading", "broker_orders"]


def test_a_number_applies_to_every_queue() -> None:
    assert parse_concurrency("2", QUEUES) == dict.fromkeys(QUEUES, 2)


def test_named_queues_get_their_count_and_the_others_one() -> None:
    assert parse_concurrency("broker_orders=2, trading=3", QUEUES) == {
        "aggregation": 1, "recommendation": 1, "trading": 3, "broker_orders": 2}


@pytest.mark.parametrize(("spec", "reason"), [
    ("0", ">= 1"),
    ("broker_orders=0", ">= 1"),
    ("broker_orders", "is not QUEUE=N"),
    ("broker_orders=two", "is not QUEUE=N"),
    ("thesis=2", "is not one of the queues run"),
])
def test_a_bad_spec_is_refused_with_the_reason(spec: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_concurrency(spec, QUEUES)


def test_the_command_line_reports_a_bad_spec_as_a_usage_error(
        capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--queues", "trading", "--concurrency", "broker_orders=2"])
    assert exited.value.code == 2
    assert "'broker_orders' is not one of the queues run (trading)" in capsys.readouterr().err
