"""The signal library: each signal reads one timeframe's features for every ticker at once.

A signal returns a ``SignalReading``: a signed value per ticker (direction times strength,
so strength is ``abs(value)`` in [0, 1]), whether it is known, and its evidence fields.
"""

from __future__ import annotations

from collections.abc import Callable

from realtime.signal_engine.contracts import SignalName
from realtime.signal_engine.features import TimeframeFeatures
from realtime.signal_engine.signals.fibonacci import fibonacci_signal
from realtime.signal_engine.signals.ma_stack import ma_stack_signal
from realtime.signal_engine.signals.patterns import cup_handle_signal, elliott_signal
from realtime.signal_engine.signals.reading import SignalReading
from realtime.signal_engine.signals.rsi import rsi_signal

SignalFunction = Callable[[TimeframeFeatures], SignalReading]

#: The library in ``SignalName`` order (the row order of every signal matrix).
SIGNAL_FUNCTIONS: dict[SignalName, SignalFunction] = {
    SignalName.FIBONACCI: fibonacci_signal,
    SignalName.MA_STACK: ma_stack_signal,
    SignalName.RSI: rsi_signal,
    SignalName.CUP_HANDLE: cup_handle_signal,
    SignalName.ELLIOTT: elliott_signal,
}

__all__ = [
    "SIGNAL_FUNCTIONS",
    "SignalFunction",
    "SignalReading",
    "cup_handle_signal",
    "elliott_signal",
    "fibonacci_signal",
    "ma_stack_signal",
    "rsi_signal",
]
