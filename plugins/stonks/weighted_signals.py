"""WeightedSignal: the one shape in which all three signal layers reach aggregation.

Layer 1 (company: ``document_impact_records``), layer 2 (macro: ``macro_impact_records``)
and layer 3 (competitive: ``competitive_signal_records``) are stored in their own tables
but read back as WeightedSignals, and each affected ticker gets an :class:`AggregationJob`
on ``stonks:queue:aggregation``. ``event_time`` is when the information was published, so
aggregation as of time t can ignore everything that was not yet public at t.
"""

from __future__ import annotations

import functools
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from stonks.db.conflict import table_of
from stonks.models import (
    CompetitiveSignalRecord,
    DocumentImpactRecord,
    GlobalEvent,
    MacroImpactRecord,
)
from stonks.models.enums import Direction
from stonks.queues import QueueMessage

DIRECTION_SIGN = {Direction.BULLISH: 1.0, Direction.BEARISH: -1.0, Direction.NEUTRAL: 0.0}
#: The same keyed by the stored value (a ``StrEnum`` member hashes as its value).
_SIGN_OF = {direction.value: sign for direction, sign in DIRECTION_SIGN.items()}


class SignalLayer(StrEnum):
    COMPANY = "company"
    MACRO = "macro"
    COMPETITIVE = "competitive"


class SignalProvenance(BaseModel):
    """Where a signal came from, so a replay is deterministic and evidence can point at it."""

    model_config = ConfigDict(frozen=True)

    table: str
    record_id: int
    document_id: int | None = None
    event_id: int | None = None
    agent_variant_id: int | None = None
    model_name: str | None = None
    prompt_hash: str | None = None


class WeightedSignal(BaseModel):
    """One layer's view of one ticker: signed direction, weight, confidence, event time."""

    model_config = ConfigDict(frozen=True)

    layer: SignalLayer
    ticker: str
    direction: float = Field(ge=-1.0, le=1.0, description="-1 bearish … +1 bullish.")
    weight: float = Field(ge=0.0, le=1.0, description="Magnitude of the impact.")
    confidence: float = Field(ge=0.0, le=1.0)
    event_time: AwareDatetime
    horizon: str
    provenance: SignalProvenance

    @property
    def signed_strength(self) -> float:
        return self.direction * self.weight * self.confidence


class AggregationJob(QueueMessage):
    """Re-aggregate one ticker because new signals for it were stored."""

    SCHEMA = "aggregation.job"
    VERSION = 1

    ticker: str = Field(min_length=1, max_length=16)
    as_of: AwareDatetime = Field(description="Newest event time among the triggering signals.")
    reason: str = Field(default="new_signals", max_length=64)
    layers: list[SignalLayer] = Field(default_factory=list)


def _layer_select(layer: SignalLayer) -> sa.Select[tuple[object, ...]]:
    """The layer's signal columns with provenance.

    Macro records take theirs from their global event (document, variant, model, prompt)
    and competitive records from the company signal they were propagated from, so every
    layer's signal names the document and agent behind it.
    """
    table = table_of(_MODELS[layer])
    c = table.c
    base = [c.id, c.ticker, c.direction, c.magnitude, c.confidence, c.published_at, c.horizon]
    if layer is SignalLayer.MACRO:
        events = table_of(GlobalEvent)
        e = events.c
        return sa.select(*base, e.document_id, c.event_id, e.agent_variant_id, e.model_name,
                         e.prompt_hash).join(events, events.c.id == c.event_id)
    if layer is SignalLayer.COMPETITIVE:
        source = table_of(DocumentImpactRecord)
        src = source.alias("source_impact")
        return sa.select(*base, c.document_id, sa.null().label("event_id"),
                         src.c.agent_variant_id, src.c.model_name, src.c.prompt_hash
                         ).join(src, src.c.id == c.source_impact_id)
    return sa.select(*base, c.document_id, sa.null().label("event_id"), c.agent_variant_id,
                     c.model_name, c.prompt_hash)


@functools.cache
def signals_query(layers: tuple[SignalLayer, ...], *, ticker_array: bool = False
                  ) -> sa.CompoundSelect[Any] | sa.Select[Any]:
    """One statement for the layers' signals of some tickers in a window (built once: the
    per-layer selects with their joins are costly to construct on every call).

    Parameters: ``tickers`` (an expanding IN list, or with ``ticker_array`` one array for
    ``= ANY``, the form a server-side prepared statement can take), ``since`` and
    ``until``. Columns, in order: :data:`SIGNAL_COLUMNS`.
    """
    selects = []
    for layer in layers:
        table = table_of(_MODELS[layer])
        tickers = (table.c.ticker == sa.func.any(sa.bindparam("tickers")) if ticker_array
                   else table.c.ticker.in_(sa.bindparam("tickers", expanding=True)))
        # The layer as a constant of the statement, not a parameter.
        selects.append(_layer_select(layer).add_columns(
            sa.literal_column(f"'{layer.value}'", sa.String).label("layer"))
            .where(tickers, table.c.published_at >= sa.bindparam("since"),
                   table.c.published_at <= sa.bindparam("until")))
    return selects[0] if len(selects) == 1 else sa.union_all(*selects)


#: The columns of a ``signals_query`` row, in order.
SIGNAL_COLUMNS = ("id", "ticker", "direction", "magnitude", "confidence", "published_at",
                  "horizon", "document_id", "event_id", "agent_variant_id", "model_name",
                  "prompt_hash", "layer")

_MODELS = {
    SignalLayer.COMPANY: DocumentImpactRecord,
    SignalLayer.MACRO: MacroImpactRecord,
    SignalLayer.COMPETITIVE: CompetitiveSignalRecord,
}
_TABLE_NAMES = {layer.value: table_of(model).name for layer, model in _MODELS.items()}
_LAYERS = {layer.value: layer for layer in SignalLayer}


def signals_from_rows(rows: Iterable[Sequence[Any]]) -> dict[str, list[WeightedSignal]]:
    """The WeightedSignals of ``signals_query`` rows, per ticker, each list oldest first.

    The rows come from our own tables, whose CHECK constraints hold what the models'
    validators would check (direction and horizon from their enums, magnitude and
    confidence in [0, 1], a publication time), so the models are built without validating
    each row again. Timestamps are returned as aware UTC, as ``UTCDateTime`` loads them.
    """
    by_ticker: dict[str, list[WeightedSignal]] = defaultdict(list)
    construct_signal = WeightedSignal.model_construct
    construct_provenance = SignalProvenance.model_construct
    for (record_id, ticker, direction, magnitude, confidence, published_at, horizon,
         document_id, event_id, agent_variant_id, model_name, prompt_hash, layer) in rows:
        sign = _SIGN_OF.get(direction)
        if sign is None:
            raise ValueError(f"unknown direction {direction!r} in {_TABLE_NAMES[layer]}")
        if published_at.tzinfo is None:  # SQLite keeps no offset: everything is UTC
            published_at = published_at.replace(tzinfo=UTC)
        elif published_at.tzinfo is not UTC:
            published_at = published_at.astimezone(UTC)
        by_ticker[ticker].append(construct_signal(
            layer=_LAYERS[layer],
            ticker=ticker,
            direction=sign,
            weight=float(magnitude),
            confidence=float(confidence),
            event_time=published_at,
            horizon=str(horizon),
            provenance=construct_provenance(
                table=_TABLE_NAMES[layer],
                record_id=int(record_id),
                document_id=document_id,
                event_id=event_id,
                agent_variant_id=agent_variant_id,
                model_name=model_name,
                prompt_hash=prompt_hash,
            ),
        ))
    for signals in by_ticker.values():
        signals.sort(key=_signal_order)
    return dict(by_ticker)


def _signal_order(signal: WeightedSignal) -> tuple[datetime, str, int]:
    return signal.event_time, signal.layer.value, signal.provenance.record_id


def load_weighted_signals_for(
    connection: sa.Connection,
    tickers: Sequence[str],
    *,
    since: datetime,
    until: datetime,
    layers: tuple[SignalLayer, ...] = tuple(SignalLayer),
) -> dict[str, list[WeightedSignal]]:
    """Signals of every ticker in ``tickers`` published in ``[since, until]``, one query for
    all layers; each ticker's list is oldest first."""
    params = {"tickers": sorted(set(tickers)), "since": since, "until": until}
    return signals_from_rows(connection.execute(signals_query(tuple(layers)), params))


def load_weighted_signals(
    connection: sa.Connection,
    ticker: str,
    *,
    since: datetime,
    until: datetime,
    layers: tuple[SignalLayer, ...] = tuple(SignalLayer),
) -> list[WeightedSignal]:
    """Signals of ``ticker`` published in ``[since, until]``, oldest first, all layers."""
    found = load_weighted_signals_for(
        connection, [ticker], since=since, until=until, layers=layers
    )
    return found.get(ticker, [])
