"""One XGBoost model for the p10, p50 and p90 of the forward log return.

It learns the target in basis points (regularisation then acts on a sane scale);
`predict_quantiles` answers in log returns, sorted so the quantiles never cross.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import xgboost as xgb

from btc_platform.training.metrics import BPS, QUANTILES

MODEL_OUTPUT = "quantiles of the forward log return in basis points (p10, p50, p90)"


def fit_quantile_model(
    features: pd.DataFrame,
    target: np.ndarray,
    params: dict[str, float | int],
    seed: int,
    threads: int,
) -> xgb.XGBRegressor:
    model = xgb.XGBRegressor(
        objective="reg:quantileerror",
        quantile_alpha=np.asarray(QUANTILES),
        tree_method="hist",
        random_state=seed,
        n_jobs=threads,
        **params,
    )
    model.fit(features, target * BPS)
    return model


def predict_quantiles(model: xgb.XGBRegressor, features: pd.DataFrame) -> np.ndarray:
    """(rows, 3) log-return quantiles."""
    return np.sort(np.asarray(model.predict(features)).reshape(len(features), -1), axis=1) / BPS
