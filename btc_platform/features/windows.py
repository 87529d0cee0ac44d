"""Trailing-window statistics on numpy arrays: each value depends on its window only.

Computed window by window (not as running sums), so a value never depends on where the
history starts; NaN until a window is full, and wherever the window holds a NaN.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def _trailing(values: np.ndarray, window: int, statistic: str, ddof: int = 0) -> np.ndarray:
    out = np.full(len(values), np.nan)
    if len(values) >= window:
        view = sliding_window_view(values, window)
        out[window - 1 :] = view.std(axis=1, ddof=ddof) if statistic == "std" else view.mean(axis=1)
    return out


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    return _trailing(values, window, "mean")


def rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    return _trailing(values, window, "mean") * window


def rolling_std(values: np.ndarray, window: int) -> np.ndarray:
    """The sample standard deviation (ddof 1), as pandas' rolling std."""
    return _trailing(values, window, "std", ddof=1)


def lagged_difference(values: np.ndarray, lag: int) -> np.ndarray:
    out = np.full(len(values), np.nan)
    out[lag:] = values[lag:] - values[:-lag]
    return out
