"""How the served predictions turned out: each joined with the candle that closed at its
horizon, then the forecaster's numbers per model version over its recent outcomes: error
and skill against zero return, pinball skill against the volatility-scaled baseline, band
coverage (overall, per volatility tercile), per-quantile calibration, Winkler and CRPS, and
the live band calibration's latest factor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from btc_platform.training.metrics import BPS, QUANTILES, score, skill

NOMINAL_COVERAGE = QUANTILES[2] - QUANTILES[0]
METRIC_COLUMNS = [
    "model_version",
    "predictions",
    "mae_bps",
    "zero_mae_bps",
    "mae_skill",
    "band_coverage",
    "pinball_loss",
    "vol_baseline_pinball_loss",
    "band_skill_vs_vol_scaled",
    "winkler_bps",
    "crps_bps",
    "below_p10",
    "below_p50",
    "below_p90",
    "coverage_low_vol",
    "coverage_mid_vol",
    "coverage_high_vol",
    "band_scale",
]


def outcomes(
    predictions: pd.DataFrame, closes: pd.DataFrame, interval_seconds: int
) -> pd.DataFrame:
    """One row per (pair, model version, as_of) of a live prediction whose horizon has
    passed: the first answer given for it, its quantiles and its realized log return.

    `closes` has pair, window_start, close; the outcome is the close of the candle that ends at
    as_of + horizon. Answers to /predict_candles (the client's own data) are not scored.
    """
    live = predictions
    if "origin" in predictions.columns:
        live = predictions[predictions["origin"].fillna("live") == "live"]
    distinct = live.drop_duplicates(["pair", "model_version", "as_of"]).copy()
    distinct["window_start"] = (
        distinct["as_of"]
        + pd.to_timedelta(distinct["horizon_minutes"], unit="min")
        - pd.Timedelta(seconds=interval_seconds)
    )
    joined = distinct.merge(closes, on=["pair", "window_start"], how="inner")
    price = joined["current_price"]

    def optional(name: str) -> pd.Series:
        return joined[name] if name in joined.columns else pd.Series(np.nan, index=joined.index)

    return pd.DataFrame(
        {
            "pair": joined["pair"],
            "model_version": joined["model_version"].astype(str),
            "as_of": joined["as_of"],
            "realized_return": np.log(joined["close"] / price),
            "p10": np.log(joined["band_low"] / price),
            "p50": joined["predicted_return"],
            "p90": np.log(joined["band_high"] / price),
            "vol_baseline_low": optional("vol_baseline_low"),
            "vol_baseline_high": optional("vol_baseline_high"),
            "realized_vol": optional("realized_vol"),
            "band_scale": optional("band_scale"),
        }
    ).sort_values("as_of", ignore_index=True)


def _version_metrics(recent: pd.DataFrame) -> dict[str, float]:
    actual = recent["realized_return"].to_numpy()
    forecast = recent[["p10", "p50", "p90"]].to_numpy()
    vol = recent["realized_vol"].to_numpy()
    has_vol = bool(np.isfinite(vol).all())
    metrics = score(actual, forecast, vol if has_vol and len(recent) >= 3 else None)
    zero_mae = float(np.mean(np.abs(actual)) * BPS)
    low, high = recent["vol_baseline_low"].to_numpy(), recent["vol_baseline_high"].to_numpy()
    baseline = np.column_stack([low, np.zeros(len(recent)), high])
    has_baseline = bool(np.isfinite(baseline).all())
    baseline_pinball = score(actual, baseline)["pinball_loss"] if has_baseline else np.nan
    return metrics | {
        "zero_mae_bps": zero_mae,
        "mae_skill": skill(metrics["mae_bps"], zero_mae),
        "vol_baseline_pinball_loss": baseline_pinball,
        "band_skill_vs_vol_scaled": (
            skill(metrics["pinball_loss"], baseline_pinball) if has_baseline else np.nan
        ),
        "band_scale": float(recent["band_scale"].iloc[-1]),
    }


def live_metrics(outcomes_frame: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per model version, over its last `window` outcomes (METRIC_COLUMNS; NaN where the
    records lack what a metric needs)."""
    rows = []
    for version, group in outcomes_frame.groupby("model_version", sort=True):
        recent = group.tail(window)
        rows.append({"model_version": str(version), "predictions": len(recent)})
        rows[-1] |= _version_metrics(recent)
    return pd.DataFrame(rows).reindex(columns=METRIC_COLUMNS)
