"""Import a Kraken OHLCVT CSV (`timestamp,open,high,low,close,volume[,trades]`, no header,
timestamp = the candle's open time in unix seconds) straight into the candles table."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from btc_platform.candles import CANDLE_COLUMNS
from btc_platform.store.upsert import upsert

OHLCV = ["timestamp", "open", "high", "low", "close", "volume"]


@dataclass(frozen=True, slots=True)
class ImportResult:
    rows: int
    loaded: int
    rejected: list[str]


def read_ohlcvt(path: Path, pair: str, interval_seconds: int) -> tuple[pd.DataFrame, list[str]]:
    """The file's valid candles and a reason for each rejected line."""
    raw = pd.read_csv(path, header=None, dtype=str, keep_default_na=False)
    if raw.shape[1] not in (6, 7):
        raise ValueError(
            f"{path.name}: expected 6 or 7 columns (Kraken OHLCVT), got {raw.shape[1]}"
        )
    raw.columns = [*OHLCV, "trades"][: raw.shape[1]]
    numbers = raw.apply(pd.to_numeric, errors="coerce")
    problems = pd.Series("", index=raw.index)
    for column in raw.columns:
        problems = problems.where(numbers[column].notna(), problems + f"{column} is not a number; ")
    ohlc = numbers[["open", "high", "low", "close"]]
    problems = problems.where(
        ~((ohlc.min(axis=1) < numbers["low"]) | (ohlc.max(axis=1) > numbers["high"])),
        problems + "low <= open, close <= high does not hold; ",
    )
    problems = problems.where(~(numbers["low"] <= 0), problems + "prices must be > 0; ")
    problems = problems.where(~(numbers["volume"] < 0), problems + "volume must be >= 0; ")
    aligned = numbers["timestamp"] % interval_seconds == 0
    problems = problems.where(
        aligned | numbers["timestamp"].isna(),
        problems + f"timestamp is not on a {interval_seconds}s boundary; ",
    )
    bad = problems != ""
    rejected = [f"{path.name} line {i + 1}: {problems[i].rstrip('; ')}" for i in raw.index[bad]]
    good = numbers[~bad]
    candles = pd.DataFrame(
        {
            "pair": pair,
            "interval_seconds": interval_seconds,
            "window_start": pd.to_datetime(good["timestamp"].astype("int64"), unit="s"),
            "open": good["open"],
            "high": good["high"],
            "low": good["low"],
            "close": good["close"],
            "volume": good["volume"],
            "trade_count": good["trades"].astype("Int64") if "trades" in good else pd.NA,
            "vwap": np.nan,
            "final": True,
            "buy_volume": np.nan,
            "buy_count": pd.NA,
        }
    )
    return candles[CANDLE_COLUMNS], rejected


def import_candles(
    connection: duckdb.DuckDBPyConnection, path: Path, pair: str, interval_seconds: int
) -> ImportResult:
    """Upsert the file's candles by (pair, interval, window_start): re-imports are no-ops."""
    candles, rejected = read_ohlcvt(path, pair, interval_seconds)
    connection.register("imported_candles", candles)
    upsert(connection, "candles", "SELECT * FROM imported_candles")
    connection.unregister("imported_candles")
    return ImportResult(len(candles) + len(rejected), len(candles), rejected)
