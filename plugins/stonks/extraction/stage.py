"""The signal stage: parsed documents → three signal layers → aggregation jobs.

One run consumes ``stonks:queue:extraction`` and ``stonks:queue:macro_classification``
alternately, two extraction batches for every macro batch, then sweeps the database for
pending documents no message pointed at (left by an earlier run's budget, a crash, or a
lost message), in the same 2:1 rhythm. Each document is leased, analysed by the variant
the resolver picks, and its company-layer (or macro-layer) rows are written in one
transaction with its status. Company signals are then propagated to competitors, oldest
first, and every ticker that received a signal gets one :class:`AggregationJob`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import socket
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

import redis
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from stonks.competitive.propagation import propagate_impacts
from stonks.competitive.relationships import ensure_relationships
from stonks.config import Settings, get_settings
from stonks.db import get_engine
from stonks.db.conflict import table_of
from stonks.extraction.agents import (
    DOCUMENT_EXTRACTOR,
    EVENT_CLASSIFIER,
    AgentConfigResolver,
    ensure_agents,
)
from stonks.extraction.analysis import classify_document, extract_document
from stonks.extraction.company_layer import StoredImpact, write_company_layer
from stonks.extraction.errors import LLMBudgetExhausted, LLMResponseInvalid, LLMUnavailable
from stonks.extraction.llm_clients import LLMClient, TokenBudget, client_from_settings
from stonks.extraction.work import (
    claim_document,
    finish_document,
    pending_documents,
    release_document,
    unavailable_attempts,
)
from stonks.macro.exposures import ensure_exposure_profiles
from stonks.macro.layer import tracked_exposures, write_macro_layer
from stonks.models import CompetitorRelationship, DocumentRoute
from stonks.parsing.routing import DocumentParsed
from stonks.queues import Consumer, ConsumerConfig, Delivery, Handler, Producer
from stonks.redis_client import connect
from stonks.redis_keys import QueueName
from stonks.weighted_signals import AggregationJob, SignalLayer

logger = logging.getLogger(__name__)

#: Extraction and macro classification share a run 2 : 1 (as in the seed).
EXTRACTION_SHARE, MACRO_SHARE = 2, 1


def interleave(first: Sequence[int], second: Sequence[int], *, ratio: tuple[int, int] = (
        EXTRACTION_SHARE, MACRO_SHARE)) -> Iterator[tuple[int, int]]:
    """(queue index, item) taking ``ratio[0]`` from ``first`` per ``ratio[1]`` from ``second``."""
    a, b = list(first), list(second)
    while a or b:
        for _ in range(ratio[0]):
            if a:
                yield 0, a.pop(0)
        for _ in range(ratio[1]):
            if b:
                yield 1, b.pop(0)


@dataclass
class StageRun:
    """One run's state and tallies."""

    settings: Settings
    engine: Engine
    owner: str
    llm: LLMClient | None
    budget: TokenBudget
    resolver: AgentConfigResolver
    stopped: str | None = None
    counts: dict[str, int] = field(default_factory=lambda: {
        "extracted": 0, "classified": 0, "failed": 0, "left_pending": 0, "skipped": 0})
    impacts: list[StoredImpact] = field(default_factory=list)
    touched: dict[str, tuple[datetime, set[SignalLayer]]] = field(default_factory=dict)
    sequence: list[str] = field(default_factory=list)

    def touch(self, tickers: Sequence[str], at: datetime, layer: SignalLayer) -> None:
        for ticker in tickers:
            newest, layers = self.touched.get(ticker, (at, set()))
            self.touched[ticker] = (max(newest, at), layers | {layer})

    def process(self, document_id: int, route: DocumentRoute) -> None:
        if self.stopped:
            return
        document = claim_document(self.engine, document_id, owner=self.owner,
                                  lease_s=self.settings.extraction_lease_s)
        if document is None:
            self.counts["skipped"] += 1
            return
        self.sequence.append(route.value)
        local = self.llm is None
        try:
            if route is DocumentRoute.MACRO:
                variant = self.resolver.pick(EVENT_CLASSIFIER, document.id, local_only=local)
                events = classify_document(document, variant, llm=self.llm, budget=self.budget,
                                           engine=self.engine)
                with self.engine.begin() as conn:
                    tickers = write_macro_layer(
                        conn, document_id=document.id, published_at=document.published_at,
                        classification=events, variant=variant,
                        companies=tracked_exposures(conn))
                    if finish_document(conn, document.id, self.owner):
                        self.touch(tickers, document.published_at, SignalLayer.MACRO)
                self.counts["classified"] += 1
                return
            variant = self.resolver.pick(DOCUMENT_EXTRACTOR, document.id, local_only=local)
            output = extract_document(document, variant, llm=self.llm, budget=self.budget,
                                      engine=self.engine)
            with self.engine.begin() as conn:
                impacts = write_company_layer(
                    conn, document_id=document.id, published_at=document.published_at,
                    output=output, companies=document.company_ids, variant=variant,
                    extractor=variant.provider)
                if finish_document(conn, document.id, self.owner):
                    self.impacts.extend(impacts)
                    self.touch([i.ticker for i in impacts], document.published_at,
                               SignalLayer.COMPANY)
            self.counts["extracted"] += 1
        except LLMBudgetExhausted as exc:
            release_document(self.engine, document.id, self.owner, error=None)
            self.counts["left_pending"] += 1
            self.stopped = f"budget exhausted: {exc}"
        except LLMResponseInvalid as exc:
            release_document(self.engine, document.id, self.owner, error=str(exc), failed=True)
            self.counts["failed"] += 1
        except LLMUnavailable as exc:
            if unavailable_attempts(self.engine, document.id) >= \
                    self.settings.extraction_max_attempts:
                # This document alone keeps failing (too long, crashes the server): give up
                # on it so it does not block the queue behind it.
                release_document(self.engine, document.id, self.owner, failed=True,
                                 error=f"gave up after repeated LLM failures: {exc}")
                self.counts["failed"] += 1
                return
            # The server is down: keep this and every later document for the next run.
            release_document(self.engine, document.id, self.owner, error=str(exc))
            self.counts["left_pending"] += 1
            self.stopped = f"llm unavailable: {exc}"


def default_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _ensure_reference_data(engine: Engine, settings: Settings) -> None:
    from stonks.ingestion.jobs import ensure_universe

    ensure_universe(engine, settings)
    ensure_agents(engine, settings)
    ensure_exposure_profiles(engine)
    with engine.connect() as conn:
        linked = conn.execute(sa.select(sa.func.count()).select_from(
            table_of(CompetitorRelationship))).scalar_one()
    if not linked:
        ensure_relationships(engine)


def _consume_queues(run: StageRun, client: redis.Redis, unit: int) -> None:
    def handler(route: DocumentRoute) -> Handler[DocumentParsed]:
        def handle(deliveries: Sequence[Delivery[DocumentParsed]]) -> None:
            for delivery in deliveries:
                run.process(delivery.message.document_id, route)
        return handle

    config = ConsumerConfig.from_settings(run.settings, block_ms=1)
    consumers = [
        Consumer(client, QueueName.EXTRACTION.value, DocumentParsed,
                 handler(DocumentRoute.EXTRACTION), consumer_name=run.owner,
                 config=replace(config, batch_size=unit * EXTRACTION_SHARE)),
        Consumer(client, QueueName.MACRO_CLASSIFICATION.value, DocumentParsed,
                 handler(DocumentRoute.MACRO), consumer_name=run.owner,
                 config=replace(config, batch_size=unit * MACRO_SHARE)),
    ]
    for consumer in consumers:
        consumer.ensure_group()
    while not run.stopped:
        if not sum(consumer.run_once() for consumer in consumers):
            break


def _sweep(run: StageRun, limit: int) -> None:
    extraction = pending_documents(run.engine, DocumentRoute.EXTRACTION, limit=limit)
    macro = pending_documents(run.engine, DocumentRoute.MACRO, limit=limit)
    routes = (DocumentRoute.EXTRACTION, DocumentRoute.MACRO)
    for index, document_id in interleave(extraction, macro):
        if run.stopped:
            break
        run.process(document_id, routes[index])


def aggregation_jobs(touched: dict[str, tuple[datetime, set[SignalLayer]]]
                     ) -> list[AggregationJob]:
    """One job per ticker; the id is derived from its content so a replay deduplicates."""
    jobs = []
    for ticker in sorted(touched):
        as_of, layers = touched[ticker]
        ordered = sorted(layers, key=lambda layer: layer.value)
        key = f"{ticker}|{as_of.isoformat()}|{','.join(layer.value for layer in ordered)}"
        digest = hashlib.sha256(key.encode()).hexdigest()[:24]
        jobs.append(AggregationJob(message_id=f"aggregation:{ticker}:{digest}", ticker=ticker,
                                   as_of=as_of, reason="new_signals", layers=ordered))
    return jobs


def run_signal_stage(*, settings: Settings | None = None, owner: str | None = None,
                     llm: LLMClient | None = None, sweep_limit: int = 10_000) -> dict[str, Any]:
    """Extract, classify and propagate everything pending; enqueue aggregation; counts."""
    settings = settings or get_settings()
    engine = get_engine(settings.effective_database_url)
    client = connect(settings=settings)
    _ensure_reference_data(engine, settings)
    run = StageRun(settings=settings, engine=engine, owner=owner or default_owner(),
                   llm=llm if llm is not None else client_from_settings(settings),
                   budget=TokenBudget(settings.llm_token_budget_per_run),
                   resolver=AgentConfigResolver(engine))
    unit = max(1, settings.extraction_batch_size // (EXTRACTION_SHARE + MACRO_SHARE))
    _consume_queues(run, client, unit)
    if not run.stopped:
        _sweep(run, sweep_limit)
    with engine.begin() as conn:
        competitors = propagate_impacts(conn, run.impacts)
    for ticker, published_at in sorted(competitors.items()):
        run.touch([ticker], published_at, SignalLayer.COMPETITIVE)
    jobs = aggregation_jobs(run.touched)
    if jobs:
        Producer(client, QueueName.AGGREGATION.value).publish_many(jobs)
    summary: dict[str, Any] = {**run.counts, "stopped": run.stopped,
                               "tokens_spent": run.budget.spent,
                               "aggregation_jobs": len(jobs),
                               "tickers": sorted(run.touched),
                               "sequence": "".join(s[0].upper() for s in run.sequence)[:200]}
    logger.info("signal stage finished", extra=summary)
    return summary
