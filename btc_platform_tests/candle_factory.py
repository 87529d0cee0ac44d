"""Candle series for training tests: a market with clustered volatility and, optionally, a
planted predictable component (autocorrelated one-candle returns)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from btc_platform.candles import CANDLE_COLUMNS
from btc_platform.store.store_connection import open_store
from btc_platform.store.store_location import StoreLocation
from btc_platform.store.upsert import upsert


def market_candles(
    count: int,
    seed: int,
    *,
    autocorrelation: float = 0.0,
    start: str = "2025-03-01",
    interval_seconds: int = 60,
    price: float = 60_000.0,
    pair: str = "BTC/USD",
) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    volatility = np.empty(count)
    returns = np.empty(count)
    variance, previous = 1e-6, 0.0
    for i in range(count):  # GARCH(1,1)-like variance, AR(1) returns
        shock = rng.standard_normal() * np.sqrt(variance)
        returns[i] = autocorrelation * previous + shock
        variance = 2e-8 + 0.1 * shock**2 + 0.88 * variance
        volatility[i], previous = np.sqrt(variance), returns[i]
    close = price * np.exp(np.cumsum(returns))
    open_ = np.concatenate([[price], close[:-1]])
    wick = np.abs(rng.standard_normal((2, count))) * volatility * 0.5
    volume = rng.lognormal(0.0, 0.5, count) * (1 + 2e3 * np.abs(returns))
    return pd.DataFrame(
        {
            "pair": pair,
            "interval_seconds": interval_seconds,
            "window_start": pd.date_range(start, periods=count, freq=f"{interval_seconds}s"),
            "open": open_,
            "high": np.maximum(open_, close) * np.exp(wick[0]),
            "low": np.minimum(open_, close) * np.exp(-wick[1]),
            "close": close,
            "volume": volume,
            "trade_count": rng.integers(1, 50, count),
            "vwap": (open_ + close) / 2,
            "final": True,
        }
    ).reindex(columns=CANDLE_COLUMNS)


def store_candles(path: StoreLocation | Path, candles: pd.DataFrame) -> None:
    with open_store(path) as connection:
        connection.register("new_candles", candles)
        upsert(connection, "candles", "SELECT * FROM new_candles")
