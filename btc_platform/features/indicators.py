"""Technical indicators (pandas-ta, on its TA-Lib backend), each in a scale-free form.

Bounded oscillators (ADX, AROON, RSI, MFI, Bollinger position) are used as they are; the
balance of the directional movements is (+DM - -DM) / (+DM + -DM); indicators in price
units (APO, MACD, ATR, Bollinger width) are divided by the close and the reference
volatility, so they read as "how many typical moves". Indicators that look ahead (a
centered DPO, Ichimoku's lagging span) are not used. The recursive ones (EMA-based) need
about 400 candles to forget where the history starts.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from btc_platform.features.candle_arrays import CandleArrays
from btc_platform.features.windows import rolling_sum

WARMUP = 400


def indicator_features(c: CandleArrays, vol_ref: np.ndarray) -> dict[str, np.ndarray]:
    # imported on first use: every Dagster run worker imports this module, few compute
    with warnings.catch_warnings():  # pandas-ta 0.4 uses pandas APIs that pandas 3 deprecates
        warnings.simplefilter("ignore")
        import pandas_ta as ta

    high, low, close, volume = (pd.Series(values) for values in (c.high, c.low, c.close, c.volume))
    moves = c.close * vol_ref  # one typical one-candle move, in price units
    adx = ta.adx(high, low, close, length=14)
    aroon = ta.aroon(high, low, length=14)
    macd = ta.macd(close, fast=12, slow=26, signal=9)
    bands = ta.bbands(close, length=20, std=2.0)
    plus, minus = adx["DMP_14"].to_numpy(), adx["DMN_14"].to_numpy()
    traded = rolling_sum(c.volume, 14)
    with np.errstate(invalid="ignore", divide="ignore"):
        balance = (plus - minus) / (plus + minus)
        signed = rolling_sum(np.diff(ta.obv(close, volume).to_numpy(), prepend=np.nan), 14)
        obv_flow = np.where(traded > 0, signed / traded, 0.0)
    return {
        "adx_14": adx["ADX_14"].to_numpy(),
        "di_balance_14": balance,
        "apo_z": ta.apo(close, fast=12, slow=26).to_numpy() / moves,
        "aroon_up_14": aroon["AROONU_14"].to_numpy(),
        "aroon_down_14": aroon["AROOND_14"].to_numpy(),
        "aroon_osc_14": aroon["AROONOSC_14"].to_numpy(),
        "rsi_14": ta.rsi(close, length=14).to_numpy(),
        "macd_z": macd["MACD_12_26_9"].to_numpy() / moves,
        "macd_signal_z": macd["MACDs_12_26_9"].to_numpy() / moves,
        "macd_hist_z": macd["MACDh_12_26_9"].to_numpy() / moves,
        "bb_position_20": bands["BBP_20_2.0_2.0"].to_numpy(),
        "bb_width_z": bands["BBB_20_2.0_2.0"].to_numpy() / 100 / vol_ref,
        "atr_z": ta.atr(high, low, close, length=14).to_numpy() / moves,
        # OBV's change over 14 candles as a share of the volume traded (0 if none): level-free.
        "obv_flow_14": np.where(np.isnan(signed), np.nan, obv_flow),
        "mfi_14": ta.mfi(high, low, close, volume, length=14).to_numpy(),
    }


INDICATOR_COLUMNS = (
    *("adx_14", "di_balance_14", "apo_z"),
    *("aroon_up_14", "aroon_down_14", "aroon_osc_14", "rsi_14"),
    *("macd_z", "macd_signal_z", "macd_hist_z"),
    *("bb_position_20", "bb_width_z", "atr_z", "obv_flow_14", "mfi_14"),
)
