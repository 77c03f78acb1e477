# cython: language_level=3
"""Resampling of intraday bars into M30, H1, H4, D, W and M with NYSE session boundaries.

Timestamps are UTC epoch nanoseconds (int64, or numpy datetime64 of any unit) of each bar's
start, non-decreasing. Only bars starting inside the regular session, 09:30 to 16:00
America/New_York, are aggregated (pre- and post-market bars are dropped); daylight saving
is handled through the exchange time zone's real offsets. Intraday buckets are anchored on
the session open (M30: 09:30, 10:00, ...; H1: 09:30, 10:30, ..., 15:30-16:00; H4: 09:30 and
13:30), D is the session's calendar day, W the ISO week (Monday to Sunday) and M the
calendar month, both in New York time. Open is the first bar's open, high the highest high,
low the lowest low, close the last close, volume the sum (a NaN makes its field NaN).
"""

import numpy as np

cimport numpy as cnp

from signal_kernels._arrays cimport as_series
from signal_kernels._results import ResampledBars
from signal_kernels._sessions import exchange_offsets

cnp.import_array()

cdef int64 MINUTE = 60_000_000_000
cdef int64 DAY = 1440 * MINUTE
cdef int64 SESSION_OPEN = (9 * 60 + 30) * MINUTE
cdef int64 SESSION_CLOSE = 16 * 60 * MINUTE

TIMEFRAMES = {"M30": 0, "H1": 1, "H4": 2, "D": 3, "W": 4, "M": 5}
cdef int64 BUCKET_WIDTH[3]
BUCKET_WIDTH[:] = [30 * MINUTE, 60 * MINUTE, 240 * MINUTE]


cdef inline int64 floor_div(int64 a, int64 b) noexcept nogil:
    cdef int64 q = a // b
    if (a % b != 0) and ((a < 0) != (b < 0)):
        q -= 1
    return q


cdef inline void civil_from_days(int64 z, int64* year, int64* month) noexcept nogil:
    """Gregorian year and month of a day count since 1970-01-01 (H. Hinnant's algorithm)."""
    cdef int64 era, doe, yoe, doy, mp
    z += 719468
    era = floor_div(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    month[0] = mp + 3 if mp < 10 else mp - 9
    year[0] = yoe + era * 400 + (1 if month[0] <= 2 else 0)


cdef inline int64 days_from_civil(int64 y, int64 m, int64 d) noexcept nogil:
    cdef int64 era, yoe, doy, doe
    y -= 1 if m <= 2 else 0
    era = floor_div(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


cdef inline int64 offset_at(int64 instant, const int64* starts, const int64* offsets,
                            Py_ssize_t n) noexcept nogil:
    """Offset in effect at a UTC instant (binary search; the table is short)."""
    cdef Py_ssize_t lo = 0, hi = n - 1, mid
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if starts[mid] <= instant:
            lo = mid
        else:
            hi = mid - 1
    return offsets[lo]


cdef inline int64 local_midnight_to_utc(int64 local, const int64* starts,
                                        const int64* offsets, Py_ssize_t n) noexcept nogil:
    # Midnight is never inside a DST gap or overlap (US changes happen at 02:00).
    cdef int64 guess = local - offset_at(local, starts, offsets, n)
    return local - offset_at(guess, starts, offsets, n)


cdef Py_ssize_t resample_kernel(const int64* ts, const double* o, const double* h,
                                const double* l, const double* c, const double* v,
                                Py_ssize_t n, int timeframe, const int64* starts,
                                const int64* offsets, Py_ssize_t n_offsets, int64* out_ts,
                                double* out_o, double* out_h, double* out_l, double* out_c,
                                double* out_v, int64* out_count) noexcept nogil:
    cdef Py_ssize_t i, k = 0, count = 0
    cdef int64 local, day, tod, key, current = 0, label = 0, year = 0, month = 0, width
    cdef int64 off
    cdef bint open_bucket = False
    for i in range(n):
        while k + 1 < n_offsets and ts[i] >= starts[k + 1]:
            k += 1
        off = offsets[k]
        local = ts[i] + off
        day = floor_div(local, DAY)
        tod = local - day * DAY
        if tod < SESSION_OPEN or tod >= SESSION_CLOSE:
            continue
        if timeframe <= 2:
            width = BUCKET_WIDTH[timeframe]
            key = (tod - SESSION_OPEN) // width
            label = day * DAY + SESSION_OPEN + key * width - off
            key += day * 64
        elif timeframe == 3:
            key = day
        elif timeframe == 4:
            key = floor_div(day + 3, 7)
        else:
            civil_from_days(day, &year, &month)
            key = year * 12 + month - 1
        if open_bucket and key == current:
            if h[i] > out_h[count - 1] or h[i] != h[i]:
                if out_h[count - 1] == out_h[count - 1]:
                    out_h[count - 1] = h[i]
            if l[i] < out_l[count - 1] or l[i] != l[i]:
                if out_l[count - 1] == out_l[count - 1]:
                    out_l[count - 1] = l[i]
            out_c[count - 1] = c[i]
            out_v[count - 1] += v[i]
            out_count[count - 1] += 1
            continue
        if timeframe == 3:
            label = local_midnight_to_utc(day * DAY, starts, offsets, n_offsets)
        elif timeframe == 4:
            label = local_midnight_to_utc((key * 7 - 3) * DAY, starts, offsets, n_offsets)
        elif timeframe == 5:
            label = local_midnight_to_utc(days_from_civil(year, month, 1) * DAY, starts,
                                          offsets, n_offsets)
        open_bucket = True
        current = key
        out_ts[count] = label
        out_o[count] = o[i]
        out_h[count] = h[i]
        out_l[count] = l[i]
        out_c[count] = c[i]
        out_v[count] = v[i]
        out_count[count] = 1
        count += 1
    return count


cdef cnp.ndarray as_timestamps(object timestamps):
    arr = np.asarray(timestamps)
    if arr.dtype.kind == "M":
        arr = arr.astype("datetime64[ns]").view(np.int64)
    elif arr.dtype.kind not in "iu":
        raise TypeError("timestamps must be integer UTC epoch nanoseconds or datetime64, "
                        f"got dtype {arr.dtype!s}")
    if arr.ndim != 1:
        raise ValueError(f"timestamps must be 1-dimensional, got shape {arr.shape}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def resample_bars(timestamps, open, high, low, close, volume, str timeframe):
    """Aggregate intraday bars into `timeframe` ("M30", "H1", "H4", "D", "W" or "M").

    See the module documentation for the session rules. Returns `ResampledBars`, one row
    per non-empty bucket, in time order.
    """
    if timeframe not in TIMEFRAMES:
        raise ValueError(f"timeframe must be one of {sorted(TIMEFRAMES)}, got {timeframe!r}")
    cdef cnp.ndarray ts = as_timestamps(timestamps)
    cdef Py_ssize_t n = ts.shape[0]
    columns = []
    for name, values in (("open", open), ("high", high), ("low", low), ("close", close),
                         ("volume", volume)):
        arr = as_series(values, name)
        if arr.shape[0] != n:
            raise ValueError(f"{name} has {arr.shape[0]} values, timestamps has {n}")
        columns.append(arr)
    if n > 1 and bool(np.any(np.diff(ts) < 0)):
        raise ValueError("timestamps must be sorted in non-decreasing order")
    starts, offsets = exchange_offsets(int(ts.min()), int(ts.max())) if n else (
        np.zeros(1, dtype=np.int64), np.zeros(1, dtype=np.int64))
    out = [np.empty(n, dtype=np.int64)] + [np.empty(n) for _ in range(5)]
    out.append(np.empty(n, dtype=np.int64))
    cdef cnp.ndarray[int64] p_starts = starts
    cdef cnp.ndarray[int64] p_offsets = offsets
    cdef const int64* pts = <const int64*>cnp.PyArray_DATA(ts)
    cdef double* cols[5]
    cdef void* outs[7]
    cdef Py_ssize_t i, count
    cdef int tf = TIMEFRAMES[timeframe]
    for i in range(5):
        cols[i] = <double*>cnp.PyArray_DATA(columns[i])
    for i in range(7):
        outs[i] = cnp.PyArray_DATA(out[i])
    with nogil:
        count = resample_kernel(pts, cols[0], cols[1], cols[2], cols[3], cols[4], n, tf,
                                <const int64*>&p_starts[0], <const int64*>&p_offsets[0],
                                p_starts.shape[0], <int64*>outs[0], <double*>outs[1],
                                <double*>outs[2], <double*>outs[3], <double*>outs[4],
                                <double*>outs[5], <int64*>outs[6])
    return ResampledBars(*(arr[:count].copy() for arr in out))
