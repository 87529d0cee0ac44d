"""Figures logged with each training run: predicted vs actual, band coverage, importance."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from btc_platform.training.forecaster import Forecaster
from btc_platform.training.metrics import BPS, QUANTILES
from btc_platform.training.quantile_model import VOL_ADJUSTMENT

COVERAGE_WINDOW = 240
SHOWN_ROWS = 720
TOP_FEATURES = 20


def predicted_vs_actual(actual: np.ndarray, forecast: np.ndarray) -> Figure:
    figure, axes = plt.subplots(figsize=(6, 6))
    axes.scatter(forecast[:, 1] * BPS, actual * BPS, s=3, alpha=0.3)
    limit = float(np.quantile(np.abs(actual * BPS), 0.995)) or 1.0
    axes.plot([-limit, limit], [-limit, limit], color="grey", linewidth=1)
    axes.set(
        xlim=(-limit, limit),
        ylim=(-limit, limit),
        xlabel="predicted p50 (bps)",
        ylabel="actual forward log return (bps)",
        title="Holdout: predicted vs actual",
    )
    return figure


def band_coverage(times: pd.Series, actual: np.ndarray, forecast: np.ndarray) -> Figure:
    figure, (band, coverage) = plt.subplots(2, 1, figsize=(10, 7), sharex=False)
    recent = slice(-SHOWN_ROWS, None)
    band.fill_between(
        times.iloc[recent],
        forecast[recent, 0] * BPS,
        forecast[recent, 2] * BPS,
        alpha=0.3,
        label="p10-p90 band",
    )
    band.plot(times.iloc[recent], actual[recent] * BPS, linewidth=0.7, label="actual")
    band.set(ylabel="bps", title=f"Band and outcome, last {SHOWN_ROWS} holdout rows")
    band.legend(loc="upper left")
    inside = (actual >= forecast[:, 0]) & (actual <= forecast[:, 2])
    rolling = pd.Series(inside.astype(float)).rolling(COVERAGE_WINDOW, min_periods=1).mean()
    coverage.plot(times, rolling, linewidth=0.8)
    target = QUANTILES[2] - QUANTILES[0]
    coverage.axhline(target, color="grey", linestyle="--", label=f"nominal {target:.0%}")
    coverage.set(ylim=(0, 1), ylabel="coverage", title=f"Rolling {COVERAGE_WINDOW}-row coverage")
    coverage.legend(loc="lower left")
    figure.tight_layout()
    return figure


def feature_importance(forecaster: Forecaster) -> Figure:
    """The quantile model's inputs by gain (`vol_adjustment`: the volatility model's forecast)."""
    names = [*forecaster.inputs, VOL_ADJUSTMENT]
    gains = forecaster.quantiles.get_score(importance_type="gain")
    named = {names[int(key.removeprefix("f"))]: gain for key, gain in gains.items()}
    top = sorted(named.items(), key=lambda item: item[1])[-TOP_FEATURES:]
    figure, axes = plt.subplots(figsize=(7, 6))
    axes.barh([name for name, _ in top], [gain for _, gain in top])
    axes.set(xlabel="gain", title=f"Feature importance (top {len(top)})")
    figure.tight_layout()
    return figure


def live_accuracy(outcomes: pd.DataFrame, window: int) -> Figure:
    """Per model and version, rolling over `window` outcomes: the p50's error against zero
    return's, and the share of outcomes inside the p10-p90 band."""
    figure, (error, coverage) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
    realized = outcomes["realized_return"]
    scored = outcomes.assign(
        abs_error_bps=(realized - outcomes["p50"]).abs() * BPS,
        zero_abs_error_bps=realized.abs() * BPS,
        inside_band=((realized >= outcomes["p10"]) & (realized <= outcomes["p90"])).astype(float),
    )
    for (name, version), group in scored.groupby(["model_name", "model_version"], sort=True):
        rolling = group.set_index("as_of").rolling(window, min_periods=1)
        label = f"{name} v{version}".strip()
        error.plot(rolling["abs_error_bps"].mean(), label=f"{label} p50")
        error.plot(rolling["zero_abs_error_bps"].mean(), linestyle=":", label=f"{label} zero")
        coverage.plot(rolling["inside_band"].mean(), label=label)
    target = QUANTILES[2] - QUANTILES[0]
    coverage.axhline(target, color="grey", linestyle="--", label=f"nominal {target:.0%}")
    error.set(ylabel="MAE (bps)", title=f"Live accuracy, rolling {window} outcomes")
    coverage.set(ylabel="band coverage", ylim=(0, 1))
    error.legend(loc="upper left", fontsize="small")
    coverage.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    return figure
