"""How the served predictions turned out: each joined with the candle that closed at its
horizon, then the forecaster's numbers per model version (of each pair's and horizon's
registered model) over its recent outcomes: error
and skill against zero return, pinball skill against the volatility-scaled baseline, band
coverage (overall, per volatility tercile), per-quantile calibration, Winkler and CRPS, and
the live band calibration's latest factor."""

from __future__ import annotations

import numpy as np
import pandas as pd

from btc_platform.training.metrics import BPS, QUANTILES, score, skill

NOMINAL_COVERAGE = QUANTILES[2] - QUANTILES[0]
KEY = ["model_name", "model_version"]
METRIC_COLUMNS = [
    "model_name",
    "model_version",
    "pair",
    "horizon_minutes",
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
    """One row per (model, version, as_of) of a live prediction whose horizon has passed: the
    first answer given for it, its quantiles and its realized log return. Records from before
    one model per pair and horizon have no model name: theirs is empty.

    `closes` has pair, window_start, close; the outcome is the close of the candle that ends at
    as_of + horizon. Answers to /predict_candles (the client's own data) are not scored.
    """
    live = predictions
    if "origin" in predictions.columns:
        live = predictions[predictions["origin"].fillna("live") == "live"]
    live = live.assign(model_name=live.get("model_name", pd.Series(index=live.index, dtype=str)))
    live["model_name"] = live["model_name"].fillna("")
    distinct = live.drop_duplicates([*KEY, "pair", "horizon_minutes", "as_of"]).copy()
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
            "model_name": joined["model_name"].astype(str),
            "model_version": joined["model_version"].astype(str),
            "pair": joined["pair"],
            "horizon_minutes": joined["horizon_minutes"].astype(int),
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
    """Per model and version, over its last `window` outcomes (METRIC_COLUMNS; NaN where the
    records lack what a metric needs)."""
    rows = []
    for (name, version), group in outcomes_frame.groupby(KEY, sort=True):
        recent = group.tail(window)
        last = recent.iloc[-1]
        rows.append(
            {
                "model_name": str(name),
                "model_version": str(version),
                "pair": last["pair"],
                "horizon_minutes": int(last["horizon_minutes"]),
                "predictions": len(recent),
            }
        )
        rows[-1] |= _version_metrics(recent)
    return pd.DataFrame(rows).reindex(columns=METRIC_COLUMNS)
