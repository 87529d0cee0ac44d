"""Technical indicators (pandas-ta) and price/volume/time features, per candle.

Every feature of the candle starting at `window_start` uses only that candle and earlier
ones (it is known at the candle's close). Price-level quantities are divided by the close,
so a model trained at 30k works at 100k. Indicators that look ahead (e.g. a centered DPO,
Ichimoku's lagging span) are not used. A run of candles with a missing window in it is
split there: each contiguous segment is warmed up on its own and its first
`warmup_candles` rows are dropped, never guessed.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

with warnings.catch_warnings():  # pandas-ta 0.4 uses pandas APIs that pandas 3 deprecates
    warnings.simplefilter("ignore")
    import pandas_ta as ta

from btc_platform.features.feature_set import FeatureSet

RETURN_LAGS = (1, 2, 3, 5, 10, 15, 30, 60)
VOLATILITY_WINDOWS = (5, 15, 30, 60)
VOLUME_WINDOWS = (15, 60)
OHLCV = ["open", "high", "low", "close", "volume"]
MINUTES_PER_DAY = 1_440


def _indicators(c: pd.DataFrame) -> dict[str, pd.Series]:
    high, low, close, volume = c["high"], c["low"], c["close"], c["volume"]
    adx = ta.adx(high, low, close, length=14, talib=False)
    aroon = ta.aroon(high, low, length=14, talib=False)
    macd = ta.macd(close, fast=12, slow=26, signal=9, talib=False)
    bands = ta.bbands(close, length=20, std=2.0, talib=False)
    signed_flow = ta.obv(close, volume, talib=False).diff(14)
    return {
        "adx_14": adx["ADX_14"],
        "dmp_14": adx["DMP_14"],
        "dmn_14": adx["DMN_14"],
        "apo_ratio": ta.apo(close, fast=12, slow=26, talib=False) / close,
        "aroon_up_14": aroon["AROONU_14"],
        "aroon_down_14": aroon["AROOND_14"],
        "aroon_osc_14": aroon["AROONOSC_14"],
        "rsi_14": ta.rsi(close, length=14, talib=False),
        "macd_ratio": macd["MACD_12_26_9"] / close,
        "macd_signal_ratio": macd["MACDs_12_26_9"] / close,
        "macd_hist_ratio": macd["MACDh_12_26_9"] / close,
        "bb_position_20": bands["BBP_20_2.0_2.0"],
        "bb_width_20": bands["BBB_20_2.0_2.0"],
        "atr_ratio_14": ta.atr(high, low, close, length=14, talib=False) / close,
        # OBV's change over 14 candles as a share of the volume traded: level-free.
        "obv_flow_14": signed_flow / volume.rolling(14).sum(),
        "mfi_14": ta.mfi(high, low, close, volume, length=14, talib=False),
    }


def _price_volume(c: pd.DataFrame) -> dict[str, pd.Series]:
    log_close = np.log(c["close"])
    one_step = log_close.diff()
    body_top = c[["open", "close"]].max(axis=1)
    body_bottom = c[["open", "close"]].min(axis=1)
    columns = {f"log_return_{lag}": log_close.diff(lag) for lag in RETURN_LAGS}
    columns |= {f"realized_vol_{w}": one_step.rolling(w).std() for w in VOLATILITY_WINDOWS}
    columns |= {
        f"volume_ratio_{w}": c["volume"] / c["volume"].rolling(w).mean() for w in VOLUME_WINDOWS
    }
    columns["range_ratio"] = (c["high"] - c["low"]) / c["close"]
    columns["body_ratio"] = (c["close"] - c["open"]) / c["close"]
    columns["upper_wick_ratio"] = (c["high"] - body_top) / c["close"]
    columns["lower_wick_ratio"] = (body_bottom - c["low"]) / c["close"]
    return columns


def _calendar(close_time: pd.Series) -> dict[str, pd.Series]:
    minute = close_time.dt.hour * 60 + close_time.dt.minute
    week = close_time.dt.day_of_week + minute / MINUTES_PER_DAY
    return {
        "time_of_day_sin": np.sin(2 * np.pi * minute / MINUTES_PER_DAY),
        "time_of_day_cos": np.cos(2 * np.pi * minute / MINUTES_PER_DAY),
        "day_of_week_sin": np.sin(2 * np.pi * week / 7),
        "day_of_week_cos": np.cos(2 * np.pi * week / 7),
    }


def _segment_features(candles: pd.DataFrame, interval_seconds: int) -> pd.DataFrame:
    c = candles.reset_index(drop=True)
    close_time = c["window_start"] + pd.Timedelta(seconds=interval_seconds)
    columns = _indicators(c) | _price_volume(c) | _calendar(close_time)
    frame = pd.DataFrame(columns).astype("float64").replace([np.inf, -np.inf], np.nan)
    frame.insert(0, "window_start", c["window_start"])
    return frame.iloc[FEATURES.warmup_candles :]


def compute_features(candles: pd.DataFrame, interval_seconds: int) -> pd.DataFrame:
    """`window_start` + FEATURES.columns for one pair's candles of one interval.

    `candles` has at least window_start and OHLCV; any order. Rows within the warm-up of
    their contiguous segment are dropped.
    """
    missing = [c for c in ["window_start", *OHLCV] if c not in candles.columns]
    if missing:
        raise ValueError(f"candles lack column(s) {', '.join(missing)}")
    ordered = candles.sort_values("window_start")[["window_start", *OHLCV]]
    ordered = ordered.astype(dict.fromkeys(OHLCV, "float64"))
    step = ordered["window_start"].diff() != pd.Timedelta(seconds=interval_seconds)
    segments = [
        _segment_features(part, interval_seconds)
        for _, part in ordered.groupby(step.cumsum().to_numpy(), sort=True)
        if len(part) > FEATURES.warmup_candles
    ]
    if not segments:
        return pd.DataFrame(columns=["window_start", *FEATURES.columns])
    return pd.concat(segments, ignore_index=True)


FEATURES = FeatureSet(
    name="ta-core",
    version=1,
    columns=(
        *("adx_14", "dmp_14", "dmn_14", "apo_ratio"),
        *("aroon_up_14", "aroon_down_14", "aroon_osc_14", "rsi_14"),
        *("macd_ratio", "macd_signal_ratio", "macd_hist_ratio"),
        *("bb_position_20", "bb_width_20", "atr_ratio_14", "obv_flow_14", "mfi_14"),
        *(f"log_return_{lag}" for lag in RETURN_LAGS),
        *(f"realized_vol_{w}" for w in VOLATILITY_WINDOWS),
        *(f"volume_ratio_{w}" for w in VOLUME_WINDOWS),
        *("range_ratio", "body_ratio", "upper_wick_ratio", "lower_wick_ratio"),
        *("time_of_day_sin", "time_of_day_cos", "day_of_week_sin", "day_of_week_cos"),
    ),
    warmup_candles=400,
)
