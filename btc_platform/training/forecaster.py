"""The forecaster a model version is: the volatility model, the quantile model on top of it and
the p50 guard, turning a candle's features into p10/p50/p90 of the forward log return.

The same object scores the holdout, re-scores a champion, runs the backtest and serves
(`bind` gives the serving path a fast one-row view on the live feature vector). It saves to
and loads from a folder (JSON plus two XGBoost models), which MLflow logs as the model.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

import numpy as np
import pandas as pd
import xgboost as xgb

from btc_platform.training.quantile_model import standardized_quantiles
from btc_platform.training.volatility_model import VolatilityModel

SCALE = "vol_ref"
SPEC = "forecaster.json"
VOLATILITY_TREES = "volatility.ubj"
QUANTILE_TREES = "quantiles.ubj"


class QuantileForecaster(Protocol):
    """What a model version is to the platform: a trained Forecaster or the baseline rule."""

    feature_set: str
    is_baseline: ClassVar[bool]

    @property
    def columns(self) -> tuple[str, ...]: ...

    def predict(self, features: pd.DataFrame) -> np.ndarray: ...

    def predict_values(self, values: np.ndarray) -> np.ndarray: ...

    def bind(self, columns: Sequence[str]) -> BoundForecaster: ...

    def save(self, folder: Path) -> None: ...


def bind_columns(model: QuantileForecaster, columns: Sequence[str]) -> BoundForecaster:
    """A one-row predictor over feature vectors laid out as `columns`."""
    missing = [c for c in model.columns if c not in columns]
    if missing:
        raise ValueError(f"features missing for this model: {', '.join(missing[:5])}")
    position = {name: i for i, name in enumerate(columns)}
    return BoundForecaster(model, np.array([position[c] for c in model.columns]))


@dataclass(frozen=True, slots=True)
class Forecaster:
    feature_set: str  # the key of the feature set it was trained on
    inputs: tuple[str, ...]  # the quantile model's feature inputs (then the vol adjustment)
    volatility: VolatilityModel
    quantiles: xgb.Booster
    median_shrink: float  # the p50 is multiplied by this (0: zero return)
    is_baseline: ClassVar[bool] = False

    @property
    def columns(self) -> tuple[str, ...]:
        """Every feature column it reads, in the order `predict_values` expects."""
        return tuple(dict.fromkeys((SCALE, *self.inputs, *self.volatility.columns)))

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, 3) p10/p50/p90 of the forward log return."""
        return self.predict_values(features[list(self.columns)].to_numpy(dtype="float64"))

    def predict_values(self, values: np.ndarray) -> np.ndarray:
        """Like `predict`, from a (rows, len(columns)) array in `columns` order."""
        columns = self.columns
        at = {name: i for i, name in enumerate(columns)}
        vol_design = self.volatility.design(values[:, [at[c] for c in self.volatility.columns]])
        adjustment = self.volatility.log_adjustment(vol_design)
        scale = self.volatility.scale(values[:, at[SCALE]], adjustment)
        inputs = np.column_stack([values[:, [at[c] for c in self.inputs]], adjustment])
        forecast = standardized_quantiles(self.quantiles, inputs) * scale[:, None]
        forecast[:, 1] *= self.median_shrink
        # the shrunk p50 stays the p50: the band stretches to hold it, it is not re-sorted
        forecast[:, 0] = np.minimum(forecast[:, 0], forecast[:, 1])
        forecast[:, 2] = np.maximum(forecast[:, 2], forecast[:, 1])
        return forecast

    def bind(self, columns: Sequence[str]) -> BoundForecaster:
        return bind_columns(self, columns)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "feature_set": self.feature_set,
            "inputs": list(self.inputs),
            "median_shrink": self.median_shrink,
            "volatility": {
                "inputs": list(self.volatility.inputs),
                "abs_inputs": list(self.volatility.abs_inputs),
                "coef": self.volatility.coef.tolist(),
                "intercept": self.volatility.intercept,
                "horizon_candles": self.volatility.horizon_candles,
            },
        }
        (folder / SPEC).write_text(json.dumps(spec, indent=1))
        self.volatility.trees.save_model(folder / VOLATILITY_TREES)
        self.quantiles.save_model(folder / QUANTILE_TREES)

    @classmethod
    def load(cls, folder: Path) -> Forecaster:
        spec = json.loads((folder / SPEC).read_text())
        vol = spec["volatility"]
        trees, quantiles = xgb.Booster(), xgb.Booster()
        trees.load_model(folder / VOLATILITY_TREES)
        quantiles.load_model(folder / QUANTILE_TREES)
        volatility = VolatilityModel(
            tuple(vol["inputs"]),
            tuple(vol["abs_inputs"]),
            np.asarray(vol["coef"], dtype="float64"),
            float(vol["intercept"]),
            trees,
            int(vol["horizon_candles"]),
        )
        return cls(
            spec["feature_set"], tuple(spec["inputs"]), volatility, quantiles, spec["median_shrink"]
        )


@dataclass(frozen=True, slots=True)
class BoundForecaster:
    forecaster: QuantileForecaster
    positions: np.ndarray  # where each of forecaster.columns sits in the feature vector

    def quantiles(self, values: np.ndarray) -> np.ndarray:
        """p10, p50, p90 for one feature vector."""
        return self.quantiles_many(values.reshape(1, -1))[0]

    def quantiles_many(self, values: np.ndarray) -> np.ndarray:
        """(rows, 3) for rows of feature vectors."""
        return self.forecaster.predict_values(values[:, self.positions])
