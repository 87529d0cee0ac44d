"""Figures of a backtest: coverage over time, skill against both baselines over time, and
coverage per volatility tercile."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from btc_platform.training.metrics import QUANTILES, TERCILES

ROLLING = "1D"


def _pinball(actual: pd.Series, low: pd.Series, median: pd.Series, high: pd.Series) -> pd.Series:
    total = 0
    for level, quantile in zip(QUANTILES, (low, median, high), strict=True):
        error = actual - quantile
        total = total + np.maximum(level * error, (level - 1) * error)
    return total / len(QUANTILES)


def rolling_coverage(scored: pd.DataFrame) -> Figure:
    inside = (scored["realized_return"] >= scored["p10"]) & (
        scored["realized_return"] <= scored["p90"]
    )
    series = inside.astype(float).set_axis(pd.DatetimeIndex(scored["as_of"]))
    figure, axes = plt.subplots(figsize=(10, 4))
    axes.plot(series.rolling(ROLLING).mean(), linewidth=0.8, label="model")
    target = QUANTILES[2] - QUANTILES[0]
    axes.axhline(target, color="grey", linestyle="--", label=f"nominal {target:.0%}")
    axes.set(ylim=(0, 1), ylabel="p10-p90 coverage", title=f"Coverage, rolling {ROLLING}")
    axes.legend(loc="lower left")
    figure.tight_layout()
    return figure


def skill_over_time(scored: pd.DataFrame) -> Figure:
    index = pd.DatetimeIndex(scored["as_of"])
    actual = scored["realized_return"]
    zero = pd.Series(0.0, index=scored.index)
    model = _pinball(actual, scored["p10"], scored["p50"], scored["p90"]).set_axis(index)
    figure, axes = plt.subplots(figsize=(10, 4))
    for name, low, high in (
        ("EWMA-blend band", "ewma_blend_p10", "ewma_blend_p90"),
        ("volatility-scaled band", "vol_scaled_p10", "vol_scaled_p90"),
        ("static band", "static_p10", "static_p90"),
    ):
        if scored[low].isna().any():  # an older table's rows lack the EWMA blend
            continue
        baseline = _pinball(actual, scored[low], zero, scored[high]).set_axis(index)
        skill = 1 - model.rolling(ROLLING).mean() / baseline.rolling(ROLLING).mean()
        axes.plot(skill, linewidth=0.8, label=f"vs {name}")
    axes.axhline(0, color="grey", linewidth=0.8)
    axes.set(ylabel="pinball skill", title=f"Skill against the baselines, rolling {ROLLING}")
    axes.legend(loc="lower left")
    figure.tight_layout()
    return figure


def tercile_coverage(model: dict[str, float], baselines: dict[str, dict[str, float]]) -> Figure:
    figure, axes = plt.subplots(figsize=(7, 4))
    names = {"model": model, **baselines}
    width = 0.8 / len(names)
    for i, (name, metrics) in enumerate(names.items()):
        values = [metrics.get(f"coverage_{t}_vol", np.nan) for t in TERCILES]
        axes.bar(np.arange(len(TERCILES)) + i * width, values, width, label=name)
    axes.axhline(QUANTILES[2] - QUANTILES[0], color="grey", linestyle="--")
    axes.set_xticks(np.arange(len(TERCILES)) + width * (len(names) - 1) / 2, TERCILES)
    axes.set(ylim=(0, 1), ylabel="p10-p90 coverage", title="Coverage per volatility tercile")
    axes.legend(loc="lower left", fontsize="small")
    figure.tight_layout()
    return figure
