"""Volatility estimators per candle, in one-candle log-return units, and the reference scale.

Every estimator at a candle uses that candle and earlier ones only, over a finite window, so
it does not depend on where the history starts. `vol_ref` (a geometric mean of four
estimators at different speeds) is the scale the forecaster standardizes by; the other
estimators enter as log ratios to it, which are scale-free. `realized_vol_60` is the
volatility baseline's scale: the standard deviation of the last 60 one-candle returns.
`ewma_blend_vol` is the EWMA-blend baseline's: the mean of the exponentially weighted RMS of
one-candle log returns with half-lives 5, 30 and 120 candles and the square root of the
exponentially weighted (half-life 30) Parkinson variance ln(high/low)^2 / (4 ln 2).
"""

from __future__ import annotations

import numpy as np

from btc_platform.features.candle_arrays import CandleArrays
from btc_platform.features.windows import rolling_mean, rolling_std

LN2 = np.log(2.0)
WINDOWS = (15, 60, 240)
# (half-life, window) of the exponentially weighted estimators, both in candles.
EXP_WINDOWS = ((5, 60), (30, 240), (120, 960))
REFERENCE = ("ewf_30", "rms_60", "parkinson_60", "ewf_120")
BASELINE_WINDOW = 60
BLEND_PARKINSON = (30, 240)  # (half-life, window) of the blend's Parkinson term
FLOOR = 1e-9  # a volatility of zero (a flat market) is taken as this


def exp_window_mean(values: np.ndarray, halflife: int, window: int) -> np.ndarray:
    """Mean of the last `window` values with weights halving every `halflife` values.

    A truncated exponential filter: s_t - decay^window * s_(t-window) of the infinite one,
    so no value older than the window has any weight. NaN until the window is full.
    """
    from scipy.signal import lfilter  # 1.7 s to import: only where features are computed

    decay = 0.5 ** (1.0 / halflife)
    full = lfilter([1.0], [1.0, -decay], np.nan_to_num(values))
    truncated = full.copy()
    truncated[window:] -= decay**window * full[:-window]
    truncated *= (1 - decay) / (1 - decay**window)
    truncated[: window - 1] = np.nan
    if np.isnan(values[:window]).any():  # the first one-candle return is undefined
        truncated[window - 1] = np.nan
    return np.maximum(truncated, 0.0)


def estimators(c: CandleArrays) -> dict[str, np.ndarray]:
    """Per-candle volatility estimates of one contiguous segment (oldest first)."""
    squared = c.log_returns**2
    high_low = np.log(c.high / c.low)
    close_open = np.log(c.close / c.open)
    parkinson = high_low**2 / (4 * LN2)
    garman_klass = np.maximum(0.5 * high_low**2 - (2 * LN2 - 1) * close_open**2, 0.0)
    out: dict[str, np.ndarray] = {}
    for w in WINDOWS:
        out[f"rms_{w}"] = np.sqrt(rolling_mean(squared, w))
        out[f"parkinson_{w}"] = np.sqrt(rolling_mean(parkinson, w))
        out[f"garman_klass_{w}"] = np.sqrt(rolling_mean(garman_klass, w))
    for halflife, window in EXP_WINDOWS:
        out[f"ewf_{halflife}"] = np.sqrt(exp_window_mean(squared, halflife, window))
    return out


def ewma_blend(c: CandleArrays, exponential: dict[str, np.ndarray]) -> np.ndarray:
    """The EWMA-blend volatility: `exponential` holds the `ewf_<half-life>` estimators."""
    parkinson = np.log(c.high / c.low) ** 2 / (4 * LN2)
    terms = [exponential[f"ewf_{halflife}"] for halflife, _ in EXP_WINDOWS]
    terms.append(np.sqrt(exp_window_mean(parkinson, *BLEND_PARKINSON)))
    return sum(terms) / len(terms)


def volatility_features(c: CandleArrays) -> dict[str, np.ndarray]:
    """`vol_ref`, the baselines' scales and each estimator as `lv_<name>` =
    log(estimate/vol_ref)."""
    estimated = estimators(c)
    logs = {name: np.log(np.maximum(value, FLOOR)) for name, value in estimated.items()}
    log_ref = sum(logs[name] for name in REFERENCE) / len(REFERENCE)
    out = {
        "vol_ref": np.exp(log_ref),
        "realized_vol_60": rolling_std(c.log_returns, BASELINE_WINDOW),
        "ewma_blend_vol": ewma_blend(c, estimated),
    }
    return out | {f"lv_{name}": value - log_ref for name, value in logs.items()}


VOLATILITY_COLUMNS = (
    "vol_ref",
    "realized_vol_60",
    "ewma_blend_vol",
    *(f"lv_{kind}_{w}" for kind in ("rms", "parkinson", "garman_klass") for w in WINDOWS),
    *(f"lv_ewf_{halflife}" for halflife, _ in EXP_WINDOWS),
)
WARMUP = max(window for _, window in EXP_WINDOWS)
