from __future__ import annotations

from typing import Any

import pytest

from stonks.errors import MessageRejected
from stonks.queues import QueueMessage


class PriceTick(QueueMessage):
    SCHEMA = "test.price_tick"
    VERSION = 2

    ticker: str
    price: float

    @classmethod
    def upgrade(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        if version == 1:  # v1 called the field "symbol"
            data["ticker"] = data.pop("symbol")
            return data
        return super().upgrade(version, data)


def fields(**values: str) -> dict[bytes, bytes]:
    return {key.encode(): value.encode() for key, value in values.items()}


def test_message_round_trips_through_stream_fields() -> None:
    message = PriceTick(ticker="AAPL", price=191.5)
    encoded = {k.encode(): v.encode() for k, v in message.to_fields().items()}
    assert PriceTick.from_fields(encoded) == message


def test_older_version_is_upgraded() -> None:
    body = (
        '{"symbol": "MSFT", "price": 1.0, "message_id": "m1", "created_at": "2010-01-04T14:30:00Z"}'
    )
    decoded = PriceTick.from_fields(fields(schema="test.price_tick", v="1", body=body))
    assert decoded.ticker == "MSFT"
    assert decoded.message_id == "m1"


def test_newer_version_is_rejected_with_reason() -> None:
    with pytest.raises(MessageRejected, match="newer than this worker"):
        PriceTick.from_fields(fields(schema="test.price_tick", v="3", body="{}"))


@pytest.mark.parametrize(
    ("entry", "reason"),
    [
        (fields(schema="test.price_tick", v="2", body="not json {"), "invalid test.price_tick"),
        (fields(schema="test.price_tick", v="2", body='{"ticker": "A"}'), "price: Field required"),
        (fields(schema="test.price_tick", v="2", body='{"ticker": "A", "price": "x"}'), "price"),
        (fields(schema="other", v="2", body="{}"), "expected schema"),
        (fields(body="{}"), "lacks the schema/body"),
        (fields(schema="test.price_tick", v="two", body="{}"), "invalid version"),
        (fields(schema="test.price_tick", v="1", body="[1, 2]"), "not a JSON object"),
        (fields(schema="test.price_tick", v="1", body="{"), "not JSON"),
    ],
)
def test_malformed_entries_are_rejected_with_a_reason(
    entry: dict[bytes, bytes], reason: str
) -> None:
    with pytest.raises(MessageRejected, match=reason):
        PriceTick.from_fields(entry)


def test_unknown_fields_are_rejected() -> None:
    body = '{"ticker": "A", "price": 1, "surprise": true}'
    with pytest.raises(MessageRejected, match="surprise"):
        PriceTick.from_fields(fields(schema="test.price_tick", v="2", body=body))
