"""The quantile model: p10, p50 and p90 of the standardized forward return, one XGBoost model.

It learns target / scale (the volatility model's forecast), so its quantiles are in units
of the expected move and carry over from calm markets to wild ones; its inputs are the
scale-free features plus the volatility model's adjustment. Quantiles come out sorted, so
they never cross.
"""

from __future__ import annotations

import numpy as np
import xgboost as xgb

from btc_platform.training.metrics import QUANTILES

VOL_ADJUSTMENT = "vol_adjustment"


def fit_quantile_model(
    inputs: np.ndarray,
    standardized: np.ndarray,
    params: dict[str, float | int],
    seed: int,
    threads: int,
) -> xgb.Booster:
    model = xgb.XGBRegressor(
        objective="reg:quantileerror",
        quantile_alpha=np.asarray(QUANTILES),
        tree_method="hist",
        random_state=seed,
        n_jobs=threads,
        **params,
    )
    model.fit(inputs, standardized)
    return model.get_booster()


def standardized_quantiles(booster: xgb.Booster, inputs: np.ndarray) -> np.ndarray:
    """(rows, 3) quantiles of target / scale."""
    raw = np.asarray(booster.inplace_predict(inputs), dtype="float64")
    return np.sort(raw.reshape(len(inputs), -1), axis=1)
