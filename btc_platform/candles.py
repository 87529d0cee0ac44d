"""OHLC candles from trades, by event time: the one candle code path (drain, import, live).

A candle covers [window_start, window_start + interval). Open and close are the first and
last trade by (ts, trade_id); `vwap` is the volume-weighted price. A window without trades
between two with trades is explicit: `trade_count` 0, volume 0, OHLC = the previous close.
A candle is final once the pair's watermark (its newest trade time) has passed its end
plus a grace period; until then late trades may still change it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd

CANDLE_COLUMNS = [
    "pair",
    "interval_seconds",
    "window_start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trade_count",
    "vwap",
    "final",
]
DEFAULT_GRACE = timedelta(seconds=10)


def window_start(ts: pd.Series, interval_seconds: int) -> pd.Series:
    return ts.dt.floor(f"{interval_seconds}s")


def candles_from_trades(
    trades: pd.DataFrame,
    interval_seconds: int,
    *,
    previous_close: dict[str, float] | None = None,
    until: dict[str, datetime] | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> pd.DataFrame:
    """Candles for every window from each pair's first trade window to its last (or `until`).

    `trades` has columns pair, trade_id, ts (UTC), price, qty, and must hold the pair's
    newest trade: its time is the watermark that makes a candle `final`. `previous_close`
    seeds the close carried into leading empty windows (none: they start at the first trade).
    """
    if trades.empty:
        return pd.DataFrame(columns=CANDLE_COLUMNS)
    ordered = trades.sort_values(["pair", "ts", "trade_id"], kind="stable")
    windows = window_start(ordered["ts"], interval_seconds)
    notional = ordered["price"] * ordered["qty"]
    grouped = ordered.assign(window_start=windows, notional=notional).groupby(
        ["pair", "window_start"], sort=True
    )
    candles = _ohlcv(grouped, ("price",) * 4, "qty", ("price", "size"))
    filled = [
        _fill_gaps(
            group,
            interval_seconds,
            (previous_close or {}).get(pair),
            (until or {}).get(pair),
        )
        for pair, group in candles.groupby("pair", sort=True)
    ]
    result = pd.concat(filled, ignore_index=True)
    result.insert(1, "interval_seconds", interval_seconds)
    watermarks = result["pair"].map(ordered.groupby("pair")["ts"].max())
    result["final"] = is_final(result["window_start"], interval_seconds, watermarks, grace)
    return result[CANDLE_COLUMNS]


def _ohlcv(
    grouped: pd.core.groupby.DataFrameGroupBy,
    ohlc: tuple[str, str, str, str],
    volume: str,
    count: tuple[str, str],
) -> pd.DataFrame:
    """Open/high/low/close/volume/count and vwap (close when there is no volume) per group;
    the groups carry a `notional` (price x quantity) column."""
    open_, high, low, close = ohlc
    result = grouped.agg(
        open=(open_, "first"),
        high=(high, "max"),
        low=(low, "min"),
        close=(close, "last"),
        volume=(volume, "sum"),
        trade_count=count,
        notional=("notional", "sum"),
    ).reset_index()
    traded = result["volume"] > 0
    result["vwap"] = np.where(
        traded, result["notional"] / result["volume"].where(traded), result["close"]
    )
    return result.drop(columns="notional")


def _fill_gaps(
    candles: pd.DataFrame,
    interval_seconds: int,
    previous_close: float | None,
    until: datetime | None,
) -> pd.DataFrame:
    step = pd.Timedelta(seconds=interval_seconds)
    last = candles["window_start"].iloc[-1]
    if until is not None:
        last = max(last, pd.Timestamp(until).floor(step))
    index = pd.date_range(candles["window_start"].iloc[0], last, freq=step, name="window_start")
    full = candles.set_index("window_start").reindex(index)
    full["pair"] = candles["pair"].iloc[0]
    empty = full["trade_count"].isna()
    close = full["close"].ffill()
    if previous_close is not None:
        close = close.fillna(previous_close)
    for column in ("open", "high", "low", "close", "vwap"):
        full[column] = full[column].where(~empty, close)
    full["volume"] = full["volume"].fillna(0.0)
    full["trade_count"] = full["trade_count"].fillna(0).astype("int64")
    return full.reset_index()


def resample_candles(candles: pd.DataFrame, interval_seconds: int) -> pd.DataFrame:
    """Coarser candles from finer ones of the same pair(s) (e.g. 1m -> 5m).

    A coarse candle is final when every fine window it covers is final.
    """
    if candles.empty:
        return pd.DataFrame(columns=CANDLE_COLUMNS)
    ordered = candles.sort_values(["pair", "window_start"], kind="stable")
    fine_ends = ordered["window_start"] + pd.to_timedelta(ordered["interval_seconds"], unit="s")
    final_until = fine_ends.where(ordered["final"].astype(bool)).groupby(ordered["pair"]).max()
    coarse = window_start(ordered["window_start"], interval_seconds)
    notional = ordered["vwap"] * ordered["volume"]
    grouped = ordered.assign(coarse=coarse, notional=notional).groupby(["pair", "coarse"])
    result = _ohlcv(grouped, ("open", "high", "low", "close"), "volume", ("trade_count", "sum"))
    result = result.rename(columns={"coarse": "window_start"})
    result.insert(1, "interval_seconds", interval_seconds)
    coarse_ends = result["window_start"] + pd.Timedelta(seconds=interval_seconds)
    result["final"] = (coarse_ends <= result["pair"].map(final_until)).fillna(False)
    return result[CANDLE_COLUMNS]


def is_final(
    window_starts: pd.Series,
    interval_seconds: int,
    watermark: datetime | pd.Series,
    grace: timedelta = DEFAULT_GRACE,
) -> pd.Series:
    """Whether each window has closed: its end plus `grace` is at or before the watermark."""
    ends = window_starts + pd.Timedelta(seconds=interval_seconds) + grace
    limit = watermark if isinstance(watermark, pd.Series) else pd.Timestamp(watermark)
    return ends <= limit
