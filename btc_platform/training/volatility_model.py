"""The volatility model: how much the next `horizon` candles will move, relative to `vol_ref`.

It learns log(forward realized variance / (vol_ref^2 x horizon)) from scale-free inputs
(the other estimators relative to `vol_ref`, range, volume, trade activity, time of day,
the size of recent standardized moves) as the average of a ridge regression (extrapolates
gently into regimes it has not seen) and a small gradient-boosted tree model (catches what
is not linear, such as the intraday pattern). Its forecast `scale` is the horizon's return
scale that the quantile model's standardized quantiles are multiplied by.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import xgboost as xgb

from btc_platform.features.feature_set import FeatureSet

INPUT_PREFIXES = ("lv_", "volume_ratio_", "time_of_day_", "trade_count_ratio_")
ABS_INPUTS = ("z_return_1", "z_return_5", "z_return_15")
EXTRA_INPUTS = ("z_range",)
RIDGE_ALPHA = 1.0
TREE_WEIGHT = 0.5
TREE_ROUNDS = 200
TREE_PARAMS = {
    "max_depth": 3,
    "eta": 0.05,
    "min_child_weight": 200,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 10.0,
    "objective": "reg:squarederror",
}
# A small floor on the forward variance (a share of its median) keeps log() finite when
# the price did not move at all over a horizon.
VARIANCE_FLOOR = 0.05


def volatility_inputs(feature_set: FeatureSet) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The columns the model reads as they are, and those it reads as absolute values."""
    plain = tuple(
        c for c in feature_set.model_columns if c.startswith(INPUT_PREFIXES) or c in EXTRA_INPUTS
    )
    return plain, tuple(c for c in ABS_INPUTS if c in feature_set.columns)


@dataclass(frozen=True, slots=True)
class VolatilityModel:
    inputs: tuple[str, ...]
    abs_inputs: tuple[str, ...]
    coef: np.ndarray
    intercept: float
    trees: xgb.Booster
    horizon_candles: int

    @property
    def columns(self) -> tuple[str, ...]:
        return (*self.inputs, *self.abs_inputs)

    def design(self, values: np.ndarray) -> np.ndarray:
        """(rows, inputs) from (rows, len(columns)) values in `columns` order."""
        design = np.array(values, dtype="float64", copy=True)
        design[:, len(self.inputs) :] = np.abs(design[:, len(self.inputs) :])
        return np.nan_to_num(design, nan=0.0, posinf=0.0, neginf=0.0)

    def log_adjustment(self, design: np.ndarray) -> np.ndarray:
        """log(forecast variance / (vol_ref^2 x horizon)) per row."""
        linear = design @ self.coef + self.intercept
        trees = np.asarray(self.trees.inplace_predict(design), dtype="float64")
        return (1 - TREE_WEIGHT) * linear + TREE_WEIGHT * trees

    def scale(self, vol_ref: np.ndarray, log_adjustment: np.ndarray) -> np.ndarray:
        """The horizon's return scale: vol_ref x sqrt(horizon) x the adjustment."""
        return vol_ref * np.sqrt(self.horizon_candles) * np.exp(log_adjustment / 2)


def fit_volatility(
    frame: pd.DataFrame,
    feature_set: FeatureSet,
    horizon_candles: int,
    seed: int,
    threads: int,
) -> VolatilityModel:
    """Fit on training rows with `vol_ref`, `target_variance` and the feature columns."""
    from sklearn.linear_model import Ridge  # slow import, only when training

    inputs, abs_inputs = volatility_inputs(feature_set)
    empty = VolatilityModel(inputs, abs_inputs, np.zeros(0), 0.0, xgb.Booster(), horizon_candles)
    design = empty.design(frame[list(empty.columns)].to_numpy())
    variance = frame["target_variance"].to_numpy()
    floor = VARIANCE_FLOOR * float(np.median(variance))
    scale = frame["vol_ref"].to_numpy() ** 2 * horizon_candles
    target = np.log(variance + floor) - np.log(scale)
    ridge = Ridge(alpha=RIDGE_ALPHA).fit(design, target)
    trees = xgb.train(
        TREE_PARAMS | {"seed": seed, "nthread": threads},
        xgb.DMatrix(design, label=target),
        num_boost_round=TREE_ROUNDS,
    )
    return VolatilityModel(
        inputs,
        abs_inputs,
        np.asarray(ridge.coef_, dtype="float64"),
        float(ridge.intercept_),
        trees,
        horizon_candles,
    )
