# cython: language_level=3
"""Typed OHLCV aggregation kernel (session-aware, America/New_York)."""

ctypedef long long int64

cdef Py_ssize_t resample_kernel(const int64* ts, const double* o, const double* h,
                                const double* l, const double* c, const double* v,
                                Py_ssize_t n, int timeframe, const int64* starts,
                                const int64* offsets, Py_ssize_t n_offsets, int64* out_ts,
                                double* out_o, double* out_h, double* out_l, double* out_c,
                                double* out_v, int64* out_count) noexcept nogil
