"""One contiguous segment of candles as numpy arrays, with the derived series features share."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class CandleArrays:
    frame: pd.DataFrame  # the segment, oldest first, index 0..n-1
    interval_seconds: int
    open: np.ndarray = field(init=False)
    high: np.ndarray = field(init=False)
    low: np.ndarray = field(init=False)
    close: np.ndarray = field(init=False)
    volume: np.ndarray = field(init=False)
    log_close: np.ndarray = field(init=False)
    log_returns: np.ndarray = field(init=False)  # NaN first

    def __post_init__(self) -> None:
        for name in ("open", "high", "low", "close", "volume"):
            object.__setattr__(self, name, self.frame[name].to_numpy(dtype="float64"))
        log_close = np.log(self.close)
        object.__setattr__(self, "log_close", log_close)
        object.__setattr__(self, "log_returns", np.concatenate([[np.nan], np.diff(log_close)]))

    def column(self, name: str) -> np.ndarray | None:
        """An optional candle column (order-flow inputs) as floats, None when absent."""
        if name not in self.frame.columns:
            return None
        return pd.to_numeric(self.frame[name], errors="coerce").to_numpy(dtype="float64")

    @property
    def close_time(self) -> pd.Series:
        return self.frame["window_start"] + pd.Timedelta(seconds=self.interval_seconds)
