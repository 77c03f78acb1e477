"""The two independent pipelines: deterministic heuristic scoring and Bayesian log-odds."""

from realtime.signal_engine.pipelines.bayesian import ProbabilisticColumns, run_probabilistic
from realtime.signal_engine.pipelines.heuristic import HeuristicColumns, run_heuristic

__all__ = ["HeuristicColumns", "ProbabilisticColumns", "run_heuristic", "run_probabilistic"]
