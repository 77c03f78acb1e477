"""Prompt templates of the LLM agents; their sha256 is the prompt hash stored with signals."""

from __future__ import annotations

import hashlib

DOCUMENT_EXTRACTOR_PROMPT = """You are an equity research analyst. Read the document and
judge what it means for each listed company's stock over the stated horizon.
Only use information in the document. Answer with JSON matching the schema: a one-paragraph
summary, overall sentiment in [-1, 1], confidence in [0, 1], event types from
{event_types}, and one entry per listed company (ticker exactly as listed) with direction
(bullish, bearish, neutral), magnitude and confidence in [0, 1], horizon (intraday, short,
medium, long), event types, a short rationale and the sentences used as evidence.
Companies: {companies}"""

EVENT_CLASSIFIER_PROMPT = """You are a macro strategist. Classify the macro or geopolitical
events in the document. For each event give event_type (e.g. rate_hike, rate_cut, rate_hold,
inflation, jobs_report, gdp, housing, sovereign_debt, sanctions, tariffs, conflict,
supply_shock, stimulus, policy_tightening), region, direction for risk assets (bullish,
bearish, neutral), severity and confidence in [0, 1], affected sectors (GICS names),
affected commodities, rate_shock in [-1, 1] and commodity_shocks (commodity -> [-1, 1]).
Answer with JSON matching the schema."""

#: thesis-rewriter v1. The answer is checked before it is used: another ticker, the
#: opposite call, or a price/percentage not in FACTS and the template thesis is kept.
THESIS_REWRITER_PROMPT = """You are an equity research writer. Rewrite the draft thesis of a
{action} recommendation on {ticker} ({direction}) as two to four plain sentences a portfolio
manager can read in ten seconds, then list up to four key points.
Rules: write only about {ticker}; never name another ticker. Keep the call: {action},
{direction}. Quote only numbers that appear in FACTS (prices with two decimals,
probabilities as percentages); do not invent prices, targets, percentages or dates.
Use the evidence only to explain why. Answer with JSON matching the schema: thesis (at most
800 characters), key_points, action ({action}) and direction ({direction})."""

PROMPTS = {
    "document-extractor": DOCUMENT_EXTRACTOR_PROMPT,
    "event-classifier": EVENT_CLASSIFIER_PROMPT,
    "thesis-rewriter": THESIS_REWRITER_PROMPT,
}
REPAIR_PROMPT = """Your previous answer was rejected: {error}
Answer again with JSON that matches the schema exactly, nothing else."""


def prompt_hash(template: str) -> str:
    return hashlib.sha256(template.encode()).hexdigest()
