"""Aggregation: WeightedSignals of the three layers → trend windows → signal engine → job."""

from realtime.aggregation.service import AggregationService, FundamentalsSource, NoFundamentals
from realtime.aggregation.trends import TrendWindowState, compute_windows, project

__all__ = [
    "AggregationService",
    "FundamentalsSource",
    "NoFundamentals",
    "TrendWindowState",
    "compute_windows",
    "project",
]
