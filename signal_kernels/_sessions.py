"""America/New_York UTC-offset table for the resampling kernel (zoneinfo at the boundary).

The kernel needs each bar's local wall-clock time. Rather than calling zoneinfo per bar, the
offset changes (DST transitions) covering the data are found once here and the Cython loop
walks them alongside the sorted timestamps.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

EXCHANGE_TZ = ZoneInfo("America/New_York")
NS_PER_SECOND = 1_000_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _offset_seconds(epoch_seconds: int) -> int:
    instant = _EPOCH + timedelta(seconds=epoch_seconds)
    offset = instant.astimezone(EXCHANGE_TZ).utcoffset()
    assert offset is not None
    return int(offset.total_seconds())


@lru_cache(maxsize=256)
def _year_transitions(year: int) -> tuple[tuple[int, int], ...]:
    """(first second with the new offset, new offset in seconds) for each change in a year."""
    start = int((datetime(year, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    end = int((datetime(year + 1, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    found = []
    step = 7 * 86_400
    left, left_offset = start, _offset_seconds(start)
    while left < end:
        right = min(left + step, end)
        right_offset = _offset_seconds(right)
        if right_offset != left_offset:
            lo, hi = left, right  # offset(lo) == left_offset, offset(hi) != left_offset
            while hi - lo > 1:
                mid = (lo + hi) // 2
                if _offset_seconds(mid) == left_offset:
                    lo = mid
                else:
                    hi = mid
            found.append((hi, right_offset))
        left, left_offset = right, right_offset
    return tuple(found)


def exchange_offsets(
    first_ns: int, last_ns: int
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Offset table for instants in [first_ns, last_ns] (UTC epoch nanoseconds).

    Returns (starts, offsets): offsets[k] (ns, local - UTC) applies from starts[k] on;
    starts[0] is the minimum int64 so every instant is covered. The table extends a year
    past both ends so conversions of bucket labels near the edges stay inside it.
    """
    first_year = (_EPOCH + timedelta(seconds=first_ns // NS_PER_SECOND)).year - 1
    last_year = (_EPOCH + timedelta(seconds=last_ns // NS_PER_SECOND)).year + 1
    first_second = int((datetime(first_year, 1, 1, tzinfo=UTC) - _EPOCH).total_seconds())
    starts = [np.iinfo(np.int64).min]
    offsets = [_offset_seconds(first_second) * NS_PER_SECOND]
    for year in range(first_year, last_year + 1):
        for second, offset in _year_transitions(year):
            starts.append(second * NS_PER_SECOND)
            offsets.append(offset * NS_PER_SECOND)
    return np.asarray(starts, dtype=np.int64), np.asarray(offsets, dtype=np.int64)
