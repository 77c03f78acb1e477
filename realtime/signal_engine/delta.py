"""Delta analyzer: how the two pipelines agree per ticker, and rolling agreement in Redis."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import redis

from realtime.signal_engine.contracts import Agreement, SignalOutput, Verdict
from realtime.signal_engine.evidence import FAILED, VERDICT_WATCH
from stonks import redis_keys

logger = logging.getLogger(__name__)

AGREEMENT_CODES = (Agreement.AGREE, Agreement.PARTIAL, Agreement.CONFLICT, Agreement.INCOMPLETE)


def compare(heuristic: np.ndarray, probabilistic: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(agreement code, consensus verdict code)`` per ticker from two verdict-code arrays.

    Agreement indexes ``AGREEMENT_CODES`` (0 agree, 1 partial, 2 conflict, 3 incomplete).
    Consensus is the more cautious verdict; when one pipeline failed (code -1) the other
    stands alone, capped at WATCH, since nothing confirmed it.
    """
    both = (heuristic != FAILED) & (probabilistic != FAILED)
    gap = np.abs(heuristic - probabilistic)
    agreement = np.where(both, np.minimum(gap, 2), 3)
    alone = np.maximum(heuristic, probabilistic)
    consensus = np.where(both, np.minimum(heuristic, probabilistic),
                         np.minimum(alone, VERDICT_WATCH))
    return agreement.astype(np.int64), consensus.astype(np.int64)


@dataclass(frozen=True, slots=True)
class AgreementStats:
    """Rolling agreement of one ticker: share of the last ``window`` ticks that agreed."""

    ticker: str
    ticks: int
    agreement_rate: float | None


class AgreementRecorder:
    """Keeps rolling agreement metrics in Redis, one pipelined round trip per tick.

    Per ticker: a capped list of 1/0 flags (agree or not; incomplete ticks are not counted).
    Per tick: a capped list of JSON summaries. Overall: a hash counting verdict pairs.
    """

    def __init__(self, client: redis.Redis, window: int) -> None:
        self._client = client
        self._window = window

    def record(self, outputs: Sequence[SignalOutput]) -> None:
        pipe = self._client.pipeline(transaction=False)
        counted = agreed = 0
        for output in outputs:
            if output.agreement is Agreement.INCOMPLETE:
                continue
            flag = 1 if output.agreement is Agreement.AGREE else 0
            counted += 1
            agreed += flag
            key = redis_keys.signal_agreement(output.ticker)
            pipe.lpush(key, flag)
            pipe.ltrim(key, 0, self._window - 1)
            pair = f"{_verdict(output.heuristic)}|{_verdict(output.probabilistic)}"
            pipe.hincrby(redis_keys.signal_agreement_matrix(), pair, 1)
        if outputs:
            summary = {
                "tick_id": outputs[0].tick_id,
                "evaluated_at": outputs[0].evaluated_at.isoformat(),
                "tickers": len(outputs),
                "compared": counted,
                "agreement_rate": agreed / counted if counted else None,
            }
            pipe.lpush(redis_keys.signal_agreement_ticks(), json.dumps(summary))
            pipe.ltrim(redis_keys.signal_agreement_ticks(), 0, self._window - 1)
        pipe.execute()

    def ticker_stats(self, ticker: str) -> AgreementStats:
        flags = self._client.lrange(redis_keys.signal_agreement(ticker), 0, -1)
        values = [int(flag) for flag in flags]
        rate = sum(values) / len(values) if values else None
        return AgreementStats(ticker, len(values), rate)

    def recent_ticks(self, limit: int = 10) -> list[dict[str, object]]:
        raw = self._client.lrange(redis_keys.signal_agreement_ticks(), 0, limit - 1)
        return [json.loads(item) for item in raw]

    def verdict_pairs(self) -> dict[str, int]:
        raw = self._client.hgetall(redis_keys.signal_agreement_matrix())
        return {(key.decode() if isinstance(key, bytes) else str(key)): int(value)
                for key, value in raw.items()}


def _verdict(result: object) -> str:
    verdict = getattr(result, "verdict", None)
    return str(verdict) if isinstance(verdict, Verdict) else "FAILED"
