"""The thesis of a recommendation: a template (an LLM rewriter may replace it when configured)."""

from __future__ import annotations

from stonks.models.recommendations import RecommendationBase


def template_thesis(rec: RecommendationBase, trend: dict[str, float]) -> str:
    """A plain-language thesis built only from the numbers the recommendation rests on."""
    parts = [f"{rec.action.value.upper()} {rec.ticker} ({rec.direction.value})"]
    if rec.probability is not None:
        parts.append(f"P(win) {rec.probability:.0%}")
    if rec.payoff_ratio is not None:
        parts.append(f"payoff {rec.payoff_ratio:.1f}R")
    if rec.entry_price is not None and rec.stop_loss is not None:
        parts.append(f"entry {rec.entry_price:.2f}, stop {rec.stop_loss:.2f}")
    if rec.take_profit is not None:
        parts.append(f"target {rec.take_profit:.2f}")
    if trend:
        parts.append("news trend " + ", ".join(f"{k} {v:+.2f}" for k, v in trend.items()))
    return "; ".join(parts) + "."
