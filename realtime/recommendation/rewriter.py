"""The thesis rewriter: an LLM turns the template thesis into prose, off the hot path.

The recommendation worker publishes a :class:`~realtime.messages.ThesisJob` for each new
trading-eligible recommendation (active, buy/sell) when an LLM is configured; this worker
loads the recommendation, its numbers and evidence, asks the ``thesis-rewriter`` agent for
a :class:`ThesisRewrite`, checks it (:mod:`realtime.recommendation.thesis_guard`) and
stores it with the template kept in ``details["template_thesis"]``.

What happens on failure:

- an answer that stays invalid after the repair round, a rejected rewrite, or a prompt the
  token budget cannot pay for: the template stays, the reason goes to
  ``details["thesis_rewrite"]``, the job is acknowledged (retrying would fail the same way);
- the server is unreachable: the handler raises so the queue retries with backoff; on the
  last delivery the reason is recorded first, then the job goes to the dead-letter queue
  (replayable once the server is back).

Redelivery is cheap: a recommendation that already has an LLM thesis, or a final outcome,
is not sent to the LLM again. A job lost between the recommendation's commit and its
publication is queued later by :func:`sweep_missed`, a periodic duty of the thesis worker.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal

import redis
import sqlalchemy as sa
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.engine import Engine

from realtime.messages import THESIS_QUEUE, ThesisJob
from realtime.recommendation.thesis_guard import (
    ThesisFacts,
    facts_numbers,
    quoted_numbers,
    rejection_reason,
)
from realtime.sql import table_of
from stonks import redis_keys
from stonks.config import Settings
from stonks.extraction.agents import THESIS_REWRITER, AgentConfigResolver, ensure_agents
from stonks.extraction.errors import LLMBudgetExhausted, LLMResponseInvalid, LLMUnavailable
from stonks.extraction.llm_clients import LLMClient, TokenBudget, client_from_settings
from stonks.extraction.structured import call_structured
from stonks.models import Company
from stonks.models.documents import Document
from stonks.models.recommendations import (
    Recommendation,
    RecommendationAction,
    RecommendationEvidence,
    RecommendationStatus,
)
from stonks.models.types import utcnow
from stonks.queues import ConsumerConfig, Delivery, Producer

logger = logging.getLogger(__name__)

#: Evidence lines shown to the LLM (heaviest first).
MAX_EVIDENCE = 8
_ELIGIBLE_STATUSES = (RecommendationStatus.ACTIVE.value, RecommendationStatus.ACTED.value)
_ELIGIBLE_ACTIONS = (RecommendationAction.BUY.value, RecommendationAction.SELL.value)
_LOCAL_PROVIDERS = ("lexicon", "template")


class ThesisRewrite(BaseModel):
    """The thesis-rewriter's output for one recommendation."""

    model_config = ConfigDict(extra="forbid")

    thesis: str = Field(min_length=20, max_length=800)
    key_points: list[Annotated[str, Field(max_length=200)]] = Field(default_factory=list,
                                                                     max_length=5)
    action: Literal["buy", "sell"]
    direction: Literal["bullish", "bearish", "neutral"]


class RewriteOutcome(StrEnum):
    """What became of one job; the final ones are recorded and never retried."""

    LLM = "llm"
    REJECTED = "rejected"
    INVALID = "invalid"
    BUDGET_EXHAUSTED = "budget_exhausted"
    TEMPLATE_VARIANT = "template_variant"
    UNAVAILABLE = "unavailable"  # recorded on the last delivery only; replayable
    ALREADY_DONE = "already_done"
    NOT_ELIGIBLE = "not_eligible"
    NO_LLM = "no_llm"


_FINAL = frozenset({RewriteOutcome.LLM, RewriteOutcome.REJECTED, RewriteOutcome.INVALID,
                    RewriteOutcome.BUDGET_EXHAUSTED, RewriteOutcome.TEMPLATE_VARIANT})


@dataclass(frozen=True)
class ThesisInput:
    """A recommendation as the rewriter sees it: the call, its numbers, its evidence."""

    recommendation_id: int
    facts: ThesisFacts
    fact_sheet: dict[str, Any]
    template: str
    evidence: list[str]


def thesis_consumer_config(settings: Settings) -> ConsumerConfig:
    """One job per read, and a visibility timeout longer than one LLM call with its retries
    and repair round: otherwise a live consumer would reclaim the job and pay twice."""
    call_s = 2 * settings.llm_max_attempts * (settings.llm_timeout_s
                                              + settings.llm_backoff_base_s
                                              * 2 ** settings.llm_max_attempts)
    return ConsumerConfig.from_settings(
        settings, batch_size=1,
        visibility_timeout_s=max(settings.queue_visibility_timeout_s, call_s + 30.0))


class ThesisRewriter:
    """Handles ThesisJobs; without an LLM configured it acknowledges them and does nothing."""

    def __init__(self, db: Engine, settings: Settings, *, llm: LLMClient | None = None,
                 resolver: AgentConfigResolver | None = None) -> None:
        self.db = db
        self.settings = settings
        self.llm = llm if llm is not None else client_from_settings(settings)
        self.resolver = resolver or AgentConfigResolver(db)
        if self.llm is not None:
            ensure_agents(db, settings)

    def close(self) -> None:
        close = getattr(self.llm, "close", None)
        if callable(close):
            close()

    def handle(self, deliveries: Sequence[Delivery[ThesisJob]]) -> None:
        for delivery in deliveries:
            last = delivery.delivery_count >= self.settings.queue_max_deliveries
            self.rewrite(delivery.message.recommendation_id, last_delivery=last)

    def rewrite(self, recommendation_id: int, *, last_delivery: bool = False) -> RewriteOutcome:
        """Rewrite one recommendation's thesis; raises LLMUnavailable for the queue to retry."""
        if self.llm is None:
            return RewriteOutcome.NO_LLM
        row = self._load_row(recommendation_id)
        if row is None or row.status not in _ELIGIBLE_STATUSES \
                or row.action not in _ELIGIBLE_ACTIONS:
            return RewriteOutcome.NOT_ELIGIBLE
        if _finished(row.thesis_source, row.details):
            return RewriteOutcome.ALREADY_DONE
        source = self._input(row)
        try:
            variant = self.resolver.pick(THESIS_REWRITER, recommendation_id)
        except LookupError as exc:  # every variant disabled: an operator's choice, not a fault
            return self._record(source, RewriteOutcome.TEMPLATE_VARIANT, {}, reason=str(exc))
        stamp = {"variant_id": variant.variant_id, "provider": variant.provider,
                 "model": variant.model_name, "prompt_hash": variant.prompt_hash}
        if variant.provider in _LOCAL_PROVIDERS or not variant.prompt_template:
            return self._record(source, RewriteOutcome.TEMPLATE_VARIANT, stamp)
        system = variant.prompt_template.format_map(_Placeholders(
            ticker=source.facts.ticker, action=source.facts.action,
            direction=source.facts.direction))
        try:
            result = call_structured(
                self.llm, variant, [{"role": "system", "content": system},
                                    {"role": "user", "content": _user_message(source)}],
                ThesisRewrite, budget=TokenBudget(self.settings.llm_token_budget_per_run),
                engine=self.db, document_id=None)
        except LLMResponseInvalid as exc:
            return self._record(source, RewriteOutcome.INVALID, stamp, reason=str(exc))
        except LLMBudgetExhausted as exc:
            return self._record(source, RewriteOutcome.BUDGET_EXHAUSTED, stamp, reason=str(exc))
        except LLMUnavailable as exc:
            if last_delivery:
                self._record(source, RewriteOutcome.UNAVAILABLE, stamp, reason=str(exc))
            logger.warning("thesis rewrite: llm unavailable", extra={
                "recommendation_id": recommendation_id, "error": str(exc)})
            raise
        rewrite = result.output
        reason = rejection_reason(" ".join([rewrite.thesis, *rewrite.key_points]),
                                  rewrite.action, rewrite.direction, source.facts,
                                  self._known_tickers())
        if reason is not None:
            return self._record(source, RewriteOutcome.REJECTED, stamp, reason=reason,
                                rejected=rewrite)
        return self._record(source, RewriteOutcome.LLM, stamp, accepted=rewrite)

    # ---- reading -----------------------------------------------------------------------------

    def _load_row(self, recommendation_id: int) -> sa.Row[Any] | None:
        t = table_of(Recommendation)
        with self.db.connect() as conn:
            return conn.execute(sa.select(t).where(t.c.id == recommendation_id)).first()

    def _input(self, row: sa.Row[Any]) -> ThesisInput:
        ev = table_of(RecommendationEvidence)
        docs = table_of(Document)
        with self.db.connect() as conn:
            evidence = conn.execute(
                sa.select(ev.c.kind, ev.c.layer, ev.c.weight, ev.c.published_at, ev.c.summary,
                          docs.c.title)
                .select_from(ev.outerjoin(docs, docs.c.id == ev.c.document_id))
                .where(ev.c.recommendation_id == row.id)
                .order_by(ev.c.weight.desc(), ev.c.id).limit(MAX_EVIDENCE)).all()
        sheet = fact_sheet(row)
        sheet["evidence_weights"] = [round(float(e.weight), 4) for e in evidence]
        template = str(row.thesis or "")
        numbers = facts_numbers(sheet) + tuple(n for n, _ in quoted_numbers(template))
        lines = [f"- {e.kind}" + (f" ({e.layer})" if e.layer else "")
                 + f", weight {float(e.weight):.2f}"
                 + (f", {e.published_at:%Y-%m-%d}" if e.published_at else "")
                 + (f": {(e.title or e.summary or '')[:200]}" if (e.title or e.summary) else "")
                 for e in evidence]
        facts = ThesisFacts(ticker=str(row.ticker), action=str(row.action),
                            direction=str(row.direction), numbers=numbers)
        return ThesisInput(int(row.id), facts, sheet, template, lines)

    def _known_tickers(self) -> list[str]:
        companies = table_of(Company)
        with self.db.connect() as conn:
            return [str(t) for t in conn.execute(sa.select(companies.c.ticker)).scalars()]

    # ---- writing -----------------------------------------------------------------------------

    def _record(self, source: ThesisInput, outcome: RewriteOutcome, stamp: dict[str, Any], *,
                reason: str | None = None, accepted: ThesisRewrite | None = None,
                rejected: ThesisRewrite | None = None) -> RewriteOutcome:
        """Store the outcome (and an accepted thesis) in one short transaction."""
        t = table_of(Recommendation)
        with self.db.begin() as conn:
            # The row lock only spans this write, never the LLM call: the trading engine
            # updates the same row.
            row = conn.execute(sa.select(t.c.thesis, t.c.thesis_source, t.c.details)
                               .where(t.c.id == source.recommendation_id)
                               .with_for_update()).first()
            if row is None or _finished(row.thesis_source, row.details):
                return RewriteOutcome.ALREADY_DONE
            details = dict(row.details or {})
            details["thesis_rewrite"] = {**stamp, "status": outcome.value, "reason": reason,
                                         "at": utcnow().isoformat()}
            if rejected is not None:
                details["thesis_rewrite"]["rejected_thesis"] = rejected.thesis
            values: dict[str, Any] = {"details": details}
            if accepted is not None:
                details["template_thesis"] = row.thesis
                details["thesis_key_points"] = list(accepted.key_points)
                values["thesis"] = accepted.thesis
                values["thesis_source"] = f"llm:{stamp['provider']}:{stamp['model']}"[:32]
            conn.execute(sa.update(t).where(t.c.id == source.recommendation_id).values(values))
        log = logger.info if outcome is RewriteOutcome.LLM else logger.warning
        log("thesis rewrite", extra={"recommendation_id": source.recommendation_id,
                                     "outcome": outcome.value, "reason": reason})
        return outcome


def fact_sheet(row: sa.Row[Any]) -> dict[str, Any]:
    """The numbers a thesis may quote: the recommendation's, and the stop/target distances."""
    details = dict(row.details or {})
    checks = dict(row.eligibility or {})

    def number(value: Any) -> float | None:
        return None if value is None else round(float(value), 4)

    entry, stop, target = (number(row.entry_price), number(row.stop_loss),
                           number(row.take_profit))
    sheet: dict[str, Any] = {
        "ticker": row.ticker, "action": row.action, "direction": row.direction,
        "time_horizon": row.time_horizon, "probability_of_win": number(row.probability),
        "payoff_ratio_r": number(row.payoff_ratio), "expected_value_r": number(row.ev_r),
        "confidence": number(row.confidence), "trend_score": number(row.trend_score),
        "entry_price": entry, "stop_loss": stop, "take_profit": target,
        "targets": [number(p) for p in row.targets or []],
        "news_trend": details.get("trend") or None,
        "trend_confidence": number(details.get("trend_confidence")),
        "last_price": number((checks.get("price") or {}).get("value")),
        "average_volume": number((checks.get("liquidity") or {}).get("value")),
    }
    if entry and stop:
        sheet["stop_distance_pct"] = round(abs(entry - stop) / entry * 100, 2)
    if entry and target:
        sheet["target_distance_pct"] = round(abs(target - entry) / entry * 100, 2)
    return {k: v for k, v in sheet.items() if v not in (None, [], {})}


def _user_message(source: ThesisInput) -> str:
    evidence = "\n".join(source.evidence) or "- none recorded"
    return (f"FACTS:\n{json.dumps(source.fact_sheet, indent=1, default=str)}\n\n"
            f"DRAFT THESIS:\n{source.template}\n\nEVIDENCE:\n{evidence}")


def _finished(thesis_source: str | None, details: dict[str, Any] | None) -> bool:
    if (thesis_source or "").startswith("llm"):
        return True
    status = ((details or {}).get("thesis_rewrite") or {}).get("status")
    return status in _FINAL


class _Placeholders(dict[str, str]):
    """Fills a variant's prompt; an unknown placeholder is left as written."""

    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


def sweep_missed(db: Engine, client: redis.Redis, *, grace_s: float = 60.0,
                 window: timedelta = timedelta(hours=24), limit: int = 200) -> int:
    """The fallback for a ThesisJob lost between the recommendation's commit and its
    publication (a crash in between): queue the eligible recommendations of the last
    ``window`` that still carry the template and have no recorded outcome, once each
    (a Redis marker per recommendation), leaving ``grace_s`` for the normal path."""
    r = table_of(Recommendation)
    now = utcnow()
    with db.connect() as conn:
        rows = conn.execute(
            sa.select(r.c.id, r.c.details, r.c.created_at, r.c.thesis_source)
            .where(r.c.created_at >= now - window,
                   r.c.created_at <= now - timedelta(seconds=grace_s),
                   r.c.status.in_(_ELIGIBLE_STATUSES), r.c.action.in_(_ELIGIBLE_ACTIONS),
                   r.c.thesis_source == "template")
            .order_by(r.c.id).limit(limit)).all()
    missed = [row for row in rows if "thesis_rewrite" not in (row.details or {})]
    if not missed:
        return 0
    pipe = client.pipeline(transaction=False)
    for row in missed:
        pipe.set(redis_keys.dedupe("thesis_sweep", str(row.id)), "1", nx=True,
                 ex=int(window.total_seconds()))
    jobs = [ThesisJob(recommendation_id=int(row.id),
                      as_of=datetime.fromisoformat((row.details or {}).get("as_of")
                                                   or row.created_at.isoformat()),
                      origin_at=now)
            for row, fresh in zip(missed, pipe.execute(), strict=True) if fresh]
    if jobs:
        Producer(client, THESIS_QUEUE).publish_many(jobs)
        logger.warning("queued theses whose job was lost", extra={"count": len(jobs)})
    return len(jobs)
