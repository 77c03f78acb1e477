"""Versioned message schemas and their encoding as stream entries.

A stream entry has three fields: ``schema`` (the message type's name), ``v`` (its version)
and ``body`` (the JSON of the message). A consumer decodes with the type it expects; an entry
of another schema, an unknown version or an invalid body is rejected with the reason, so it
can go to the dead-letter queue instead of crashing the worker.
"""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar, Self

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from stonks.errors import MessageRejected

Fields = dict[bytes, bytes]

SCHEMA_FIELD = b"schema"
VERSION_FIELD = b"v"
BODY_FIELD = b"body"


def _new_message_id() -> str:
    return uuid.uuid4().hex


def _utcnow() -> datetime:
    return datetime.now(UTC)


class QueueMessage(BaseModel):
    """Base of every queue message. Subclasses set ``SCHEMA`` and, when they change, ``VERSION``.

    ``message_id`` is the idempotency key handlers dedupe on: a redelivered entry carries the
    same id. A subclass that bumps ``VERSION`` overrides ``upgrade`` to read older bodies.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    SCHEMA: ClassVar[str] = "message"
    VERSION: ClassVar[int] = 1

    message_id: str = Field(default_factory=_new_message_id, min_length=1, max_length=64)
    created_at: AwareDatetime = Field(default_factory=_utcnow)

    @classmethod
    def upgrade(cls, version: int, data: dict[str, Any]) -> dict[str, Any]:
        """Turn the body of an older version into the current one."""
        raise MessageRejected(f"{cls.SCHEMA}: no upgrade from version {version} to {cls.VERSION}")

    def to_fields(self) -> dict[str, str]:
        return {"schema": self.SCHEMA, "v": str(self.VERSION), "body": self.model_dump_json()}

    @classmethod
    def from_fields(cls, fields: Fields) -> Self:
        """Decode a stream entry; raises MessageRejected with the reason when it cannot."""
        schema = fields.get(SCHEMA_FIELD)
        body = fields.get(BODY_FIELD)
        if schema is None or body is None:
            present = sorted(map(repr, fields))
            raise MessageRejected(f"entry lacks the schema/body fields (has {present})")
        if schema.decode("utf-8", "replace") != cls.SCHEMA:
            raise MessageRejected(f"expected schema {cls.SCHEMA!r}, got {schema!r}")
        try:
            version = int(fields.get(VERSION_FIELD, b"1"))
        except ValueError:
            raise MessageRejected(f"invalid version {fields.get(VERSION_FIELD)!r}") from None
        try:
            if version == cls.VERSION:
                return cls.model_validate_json(body)
            if version > cls.VERSION:
                raise MessageRejected(
                    f"{cls.SCHEMA} version {version} is newer than this worker's {cls.VERSION}"
                )
            data = json.loads(body)
            if not isinstance(data, dict):
                raise MessageRejected("body is not a JSON object")
            return cls.model_validate(cls.upgrade(version, data))
        except ValidationError as exc:
            raise MessageRejected(f"invalid {cls.SCHEMA} v{version}: {_summarize(exc)}") from None
        except json.JSONDecodeError as exc:
            raise MessageRejected(f"body is not JSON: {exc}") from None


def _summarize(error: ValidationError) -> str:
    parts = []
    for item in error.errors(include_url=False)[:5]:
        where = ".".join(str(p) for p in item["loc"]) or "body"
        parts.append(f"{where}: {item['msg']}")
    return "; ".join(parts)
