"""A batch of recommendation jobs drafted in Python, before the database is consulted.

Eligibility (price, liquidity, data freshness), contradiction and the cooldown among the
batch's own jobs are decided here; the cooldown against committed recommendations is the
store's (``store.py``), which reads the committed rows as it writes the new ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Field

from realtime.messages import RecommendationJob
from realtime.recommendation.thesis import template_thesis
from stonks.config import Settings
from stonks.models.enums import TradingMode
from stonks.models.recommendations import (
    RecommendationAction,
    RecommendationBase,
    RecommendationStatus,
)

ACTIONABLE = (RecommendationAction.BUY, RecommendationAction.SELL)
#: Statuses that make a same-direction recommendation count for the cooldown.
COOLING = (RecommendationStatus.ACTIVE.value, RecommendationStatus.ACTED.value)
#: The cooldown's suppression reason, around the id (or key) of the recent recommendation.
COOLDOWN = ("cooldown: recommendation ", " in the same direction is recent")
_CONTRADICTION = "contradiction: strong signals or the two pipelines disagree"


class RecommendationDraft(RecommendationBase):
    """A recommendation before it is stored: plain pydantic (validating a table model
    costs several times more, and this runs once per job)."""

    targets: list[str] = Field(default_factory=list)
    eligibility: dict[str, Any] = Field(default_factory=dict)
    details: dict[str, Any] = Field(default_factory=dict)


def eligibility(job: RecommendationJob, settings: Settings) -> dict[str, dict[str, Any]]:
    """Liquidity, price and data-freshness checks: name → {passed, value, limit}."""
    age = None if job.last_bar_at is None else (job.as_of - job.last_bar_at).total_seconds()
    max_age = settings.rec_max_data_age_days * 86400
    return {
        "price": {"passed": job.last_price is not None and job.last_price >= settings.rec_min_price,
                  "value": job.last_price, "limit": settings.rec_min_price},
        "liquidity": {"passed": (job.avg_volume or 0.0) >= settings.rec_min_avg_volume,
                      "value": job.avg_volume, "limit": settings.rec_min_avg_volume},
        "freshness": {"passed": age is not None and age <= max_age,
                      "value": age, "limit": max_age},
    }


def cooldown_reason(recommendation: object) -> str:
    """The suppression reason naming the recent same-direction ``recommendation``."""
    return f"{COOLDOWN[0]}{recommendation}{COOLDOWN[1]}"


@dataclass(slots=True)
class Draft:
    """One job's recommendation as decided before the database is consulted."""

    job: RecommendationJob
    rec: RecommendationDraft
    reason: str | None
    #: Set when a committed same-direction recommendation created since then suppresses it
    #: (its reason then wins over ``reason``, which can only be the batch's own cooldown).
    cooldown_since: datetime | None

    def suppress_for_cooldown(self, recent_id: int) -> None:
        """Suppressed by the committed recommendation ``recent_id`` (the store found it)."""
        self.reason = self.rec.suppression_reason = cooldown_reason(recent_id)
        self.rec.status = RecommendationStatus.SUPPRESSED


class Drafter:
    """Drafts the recommendations of job batches under one configuration."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.mode = TradingMode(settings.trading_mode)

    def draft_many(self, jobs: Sequence[RecommendationJob], now: datetime) -> list[Draft]:
        """The drafts of ``jobs`` (the first of each idempotency key), in order."""
        drafts: list[Draft] = []
        seen: set[str] = set()
        batch: dict[tuple[str, str], str] = {}  # (ticker, action) → key of an active draft
        for job in jobs:
            if job.idempotency_key in seen:
                continue
            draft = self.draft(job, batch, now)
            if draft.rec.idempotency_key in seen:  # the draft's key is the row's
                continue
            seen.update((job.idempotency_key, draft.rec.idempotency_key))
            drafts.append(draft)
        return drafts

    def draft(self, job: RecommendationJob, batch: dict[tuple[str, str], str],
              now: datetime) -> Draft:
        """The recommendation of ``job`` with eligibility, suppression and thesis applied.

        ``batch`` holds the active drafts earlier in this batch, not yet in the table, so
        the cooldown sees them as it would see committed rows. A committed recent one is
        looked for when the row is stored."""
        checks = eligibility(job, self.settings)
        # The fields set from the job and configuration are validated with the draft
        # (one validation, no assignment per field; merged here, as ``update=`` costs more).
        rec = RecommendationDraft.model_validate({
            **job.draft, "mode": self.mode, "eligibility": checks, "thesis_source": "template"})
        failed = [name for name, check in checks.items() if not check["passed"]]
        reason: str | None = None
        since: datetime | None = None
        if failed:
            rec.status = RecommendationStatus.INELIGIBLE
            reason = "ineligible: " + ", ".join(failed)
        else:
            if job.contradiction or rec.contradiction:
                reason = _CONTRADICTION
            elif self.settings.rec_cooldown_s > 0 and rec.action in ACTIONABLE:
                since = now - timedelta(seconds=self.settings.rec_cooldown_s)
                slot = (rec.ticker, rec.action.value)
                earlier = batch.get(slot)
                if earlier is not None:
                    reason = cooldown_reason(earlier)
                elif rec.status is RecommendationStatus.ACTIVE:
                    batch[slot] = rec.idempotency_key
            if reason is not None:
                rec.status = RecommendationStatus.SUPPRESSED
        rec.suppression_reason = reason
        rec.thesis = template_thesis(rec, job.trend)
        rec.details = {**rec.details, "trend": job.trend, "as_of": job.as_of.isoformat(),
                       "trend_confidence": job.trend_confidence, "sector": job.sector}
        return Draft(job, rec, reason, since)
