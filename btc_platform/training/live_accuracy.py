"""How the served predictions turned out: each joined with the candle that closed at its
horizon, then error, skill against zero return and band coverage per model version."""

from __future__ import annotations

import numpy as np
import pandas as pd

from btc_platform.training.metrics import BPS, QUANTILES

NOMINAL_COVERAGE = QUANTILES[2] - QUANTILES[0]
METRIC_COLUMNS = [
    "model_version",
    "predictions",
    "mae_bps",
    "zero_mae_bps",
    "mae_skill",
    "band_coverage",
]


def outcomes(
    predictions: pd.DataFrame, closes: pd.DataFrame, interval_seconds: int
) -> pd.DataFrame:
    """One row per (pair, model version, as_of) whose horizon has passed: the first answer given
    for it, its realized log return, errors in bps and whether the outcome fell in the band.

    `closes` has pair, window_start, close; the outcome is the close of the candle that ends at
    as_of + horizon.
    """
    distinct = predictions.drop_duplicates(["pair", "model_version", "as_of"]).copy()
    distinct["window_start"] = (
        distinct["as_of"]
        + pd.to_timedelta(distinct["horizon_minutes"], unit="min")
        - pd.Timedelta(seconds=interval_seconds)
    )
    joined = distinct.merge(closes, on=["pair", "window_start"], how="inner")
    realized = np.log(joined["close"] / joined["current_price"])
    return pd.DataFrame(
        {
            "pair": joined["pair"],
            "model_version": joined["model_version"].astype(str),
            "as_of": joined["as_of"],
            "realized_return": realized,
            "abs_error_bps": (realized - joined["predicted_return"]).abs() * BPS,
            "zero_abs_error_bps": realized.abs() * BPS,
            "inside_band": (joined["close"] >= joined["band_low"])
            & (joined["close"] <= joined["band_high"]),
        }
    ).sort_values("as_of", ignore_index=True)


def live_metrics(outcomes_frame: pd.DataFrame, window: int) -> pd.DataFrame:
    """Per model version, over its last `window` outcomes: MAE, zero return's MAE, the skill
    (1 - model/zero) and the share of outcomes inside the p10-p90 band."""
    rows = []
    for version, group in outcomes_frame.groupby("model_version", sort=True):
        recent = group.tail(window)
        mae, zero = recent["abs_error_bps"].mean(), recent["zero_abs_error_bps"].mean()
        rows.append(
            (
                str(version),
                len(recent),
                mae,
                zero,
                1 - mae / zero if zero > 0 else 0.0,
                recent["inside_band"].mean(),
            )
        )
    return pd.DataFrame(rows, columns=METRIC_COLUMNS)
