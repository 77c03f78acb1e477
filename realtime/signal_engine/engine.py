"""The signal engine: one tick = both pipelines over every ticker, failures isolated.

Evidence (features, signals, confluence, filters, exits) is gathered once per tick for all
tickers through the batch kernels; then the heuristic and the probabilistic pipelines run
concurrently on it. A pipeline that raises is re-run ticker by ticker, so only the tickers
that break it lose its verdict, and the error is recorded on their SignalOutput.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from types import TracebackType
from typing import Any

import numpy as np

from realtime.signal_engine.config import EngineConfig
from realtime.signal_engine.contracts import SignalOutput, TickerInputs
from realtime.signal_engine.delta import compare
from realtime.signal_engine.evidence import FAILED, Evidence
from realtime.signal_engine.features import KernelWorkspace
from realtime.signal_engine.gather import gather
from realtime.signal_engine.normalizer import MarketBatch, assemble
from realtime.signal_engine.outputs import PipelineRun, materialise
from realtime.signal_engine.pipelines import run_heuristic, run_probabilistic

logger = logging.getLogger(__name__)

Pipeline = Callable[[Evidence, EngineConfig], Any]


class SignalEngine:
    """Evaluates tickers with both pipelines. Reuse one instance: it keeps kernel buffers
    and a two-thread pool between ticks (close it, or use it as a context manager)."""

    def __init__(
        self,
        config: EngineConfig | None = None,
        *,
        parallel: bool = True,
        heuristic: Pipeline = run_heuristic,
        probabilistic: Pipeline = run_probabilistic,
    ) -> None:
        self.config = config or EngineConfig.from_settings()
        self._workspace = KernelWorkspace()
        self._pool = (
            ThreadPoolExecutor(2, thread_name_prefix="signal-pipeline") if parallel else None
        )
        self._heuristic = heuristic
        self._probabilistic = probabilistic

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def __enter__(self) -> SignalEngine:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def evaluate(
        self, inputs: TickerInputs, as_of: datetime, tick_id: str | None = None
    ) -> SignalOutput:
        """Both verdicts for one ticker as of ``as_of``."""
        return self.evaluate_batch([inputs], as_of, tick_id)[0]

    def evaluate_batch(
        self, inputs: Sequence[TickerInputs], as_of: datetime, tick_id: str | None = None
    ) -> list[SignalOutput]:
        """Both verdicts for every ticker as of ``as_of`` (one tick), in input order."""
        return self.evaluate_market(assemble(inputs, as_of, self.config.bars_window), tick_id)

    def evaluate_market(self, batch: MarketBatch, tick_id: str | None = None) -> list[SignalOutput]:
        """Evaluate an already assembled batch (the benchmark's and workers' hot path)."""
        tick = tick_id or uuid.uuid4().hex
        gathered = gather(batch, self.config, self._workspace)
        evidence = gathered.evidence
        heuristic_run, probabilistic_run = self._run_pipelines(evidence)
        n = evidence.n_tickers
        h_codes = _codes(heuristic_run, n)
        if probabilistic_run.columns is None and not self.config.dual_pipeline_enabled:
            p_codes = h_codes  # single-pipeline mode: the heuristic verdict stands alone
        else:
            p_codes = _codes(probabilistic_run, n)
        agreement, consensus = compare(h_codes, p_codes)
        if not self.config.dual_pipeline_enabled:
            agreement = np.full(n, 3, dtype=np.int64)
        return materialise(
            batch.tickers, batch.unknown_inputs, batch.as_of, tick, gathered, heuristic_run,
            probabilistic_run, agreement, consensus, self.config.trailing_atr_multiple,
        )

    def _run_pipelines(self, evidence: Evidence) -> tuple[PipelineRun, PipelineRun]:
        if not self.config.dual_pipeline_enabled:
            return (
                _isolated(self._heuristic, evidence, self.config),
                PipelineRun(None, [None] * evidence.n_tickers),
            )
        if self._pool is None:
            return (
                _isolated(self._heuristic, evidence, self.config),
                _isolated(self._probabilistic, evidence, self.config),
            )
        futures: list[Future[PipelineRun]] = [
            self._pool.submit(_isolated, pipeline, evidence, self.config)
            for pipeline in (self._heuristic, self._probabilistic)
        ]
        return futures[0].result(), futures[1].result()


def _isolated(pipeline: Pipeline, evidence: Evidence, config: EngineConfig) -> PipelineRun:
    """Run ``pipeline`` on the batch; if it raises, ticker by ticker, recording each error.

    Never raises: whatever goes wrong becomes the failing tickers' recorded error.
    """
    n = evidence.n_tickers
    try:
        return PipelineRun(pipeline(evidence, config), [None] * n)
    except Exception as exc:
        logger.warning("pipeline %s failed for the batch (%s); isolating tickers",
                       getattr(pipeline, "__name__", pipeline), exc)
    parts: list[Any] = []
    errors: list[str | None] = []
    for i in range(n):
        try:
            parts.append(pipeline(evidence.take(np.array([i])), config))
            errors.append(None)
        except Exception as exc:
            logger.exception("pipeline %s failed for ticker #%d",
                             getattr(pipeline, "__name__", pipeline), i)
            parts.append(None)
            errors.append(f"{type(exc).__name__}: {exc}")
    return PipelineRun(_merge(parts), errors)


def _merge(parts: list[Any]) -> Any:
    """Stack per-ticker column objects into one; failed tickers get FAILED / NaN."""
    template = next((part for part in parts if part is not None), None)
    if template is None:
        return None
    merged: dict[str, np.ndarray] = {}
    for name in template.__dataclass_fields__:
        sample = getattr(template, name)
        fill = FAILED if sample.dtype.kind in "iu" else np.nan
        column = np.full(len(parts), fill, dtype=sample.dtype)
        for i, part in enumerate(parts):
            if part is not None:
                column[i] = getattr(part, name)[0]
        merged[name] = column
    return type(template)(**merged)


def _codes(run: PipelineRun, n: int) -> np.ndarray:
    if run.columns is None:
        return np.full(n, FAILED, dtype=np.int64)
    codes = np.asarray(run.columns.verdict, dtype=np.int64).copy()
    failed = np.array([error is not None for error in run.errors], dtype=bool)
    codes[failed] = FAILED
    return codes
