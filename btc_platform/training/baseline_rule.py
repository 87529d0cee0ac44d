"""The EWMA-blend rule as a model version: a (pair, horizon)'s first champion.

No machine learning: the band is the EWMA-blend volatility (`ewma_blend_vol`) x sqrt(horizon)
x the standardized p10/p90 of the target over the rows it was fitted on, with zero return as
the median. It answers through the same path as a trained model until one beats it
significantly at the gate.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np
import pandas as pd

from btc_platform.training.baselines import EWMA_BLEND, SCALES, standardized_band, vol_scaled_band
from btc_platform.training.dataset import TARGET, TrainingSet
from btc_platform.training.forecaster import SPEC, BoundForecaster, bind_columns

KIND = "ewma_blend_rule"
RULE_WORDS = "the EWMA-blend rule (no machine learning)"
BASELINE_TAG = "baseline_rule"  # a registered version's tag: it is the rule, not a trained model


def is_rule(tags: dict[str, str]) -> bool:
    """Whether a registered version with these tags is the rule."""
    return tags.get(BASELINE_TAG) == KIND


@dataclass(frozen=True, slots=True)
class BaselineRule:
    feature_set: str
    z_band: tuple[float, float]  # the standardized p10 and p90
    horizon_candles: int
    is_baseline: ClassVar[bool] = True

    @classmethod
    def fit(cls, dataset: TrainingSet) -> BaselineRule:
        """The rule over every row of `dataset` that has a volatility estimate."""
        frame = dataset.frame
        scale = frame[SCALES[EWMA_BLEND]].to_numpy() * np.sqrt(dataset.horizon_candles)
        z_band = standardized_band(frame[TARGET].to_numpy(), scale)
        return cls(dataset.feature_set.key, z_band, dataset.horizon_candles)

    @property
    def columns(self) -> tuple[str, ...]:
        return (SCALES[EWMA_BLEND],)

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """(rows, 3) p10/p50/p90 of the forward log return."""
        return self.predict_values(features[list(self.columns)].to_numpy(dtype="float64"))

    def predict_values(self, values: np.ndarray) -> np.ndarray:
        return vol_scaled_band(self.z_band, values[:, 0], self.horizon_candles)

    def bind(self, columns: Sequence[str]) -> BoundForecaster:
        return bind_columns(self, columns)

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        spec = {
            "kind": KIND,
            "feature_set": self.feature_set,
            "z_band": list(self.z_band),
            "horizon_candles": self.horizon_candles,
        }
        (folder / SPEC).write_text(json.dumps(spec, indent=1))

    @classmethod
    def load(cls, folder: Path) -> BaselineRule:
        spec = json.loads((folder / SPEC).read_text())
        low, high = spec["z_band"]
        return cls(spec["feature_set"], (float(low), float(high)), int(spec["horizon_candles"]))


def is_rule_folder(folder: Path) -> bool:
    return json.loads((folder / SPEC).read_text()).get("kind") == KIND
