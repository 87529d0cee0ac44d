"""A model's holdout evaluation next to the baselines' on the same rows."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from btc_platform.training.metrics import score, skill


@dataclass(frozen=True, slots=True)
class Evaluation:
    model: dict[str, float]
    baseline: dict[str, float]  # zero-return median, static-quantile band

    @classmethod
    def of(cls, actual: np.ndarray, forecast: np.ndarray, baseline: np.ndarray) -> Evaluation:
        return cls(model=score(actual, forecast), baseline=score(actual, baseline))

    @property
    def skills(self) -> dict[str, float]:
        """> 0: the model beats the baseline (pinball: the band; MAE/RMSE: the point forecast)."""
        return {
            f"{metric}_skill": skill(self.model[metric], self.baseline[metric])
            for metric in ("pinball_loss", "mae_bps", "rmse_bps")
        }

    def metrics(self) -> dict[str, float]:
        """Flat names for MLflow and Dagster: model metrics, `baseline_*`, `*_skill`."""
        flat = (
            {f"holdout_{k}": v for k, v in self.model.items()}
            | {f"baseline_{k}": v for k, v in self.baseline.items()}
            | self.skills
        )
        return {name: value for name, value in flat.items() if not math.isnan(value)}

    def verdict(self) -> str:
        """What the numbers mean, in words (point forecasts on BTC usually have no skill)."""
        skills = self.skills
        band = "beats" if skills["pinball_loss_skill"] > 0 else "does not beat"
        point = skills["mae_bps_skill"]
        point_words = (
            "has about zero skill against"
            if abs(point) < 0.01
            else "beats"
            if point > 0
            else "loses to"
        )
        return (
            f"the p10-p90 band {band} the static-quantile band "
            f"(pinball skill {skills['pinball_loss_skill']:+.1%}); "
            f"the point forecast {point_words} zero return (MAE skill {point:+.2%})"
        )
