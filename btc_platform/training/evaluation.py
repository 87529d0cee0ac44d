"""A model's evaluation next to the baselines' on the same rows, and what it means in words."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from btc_platform.training.baselines import STATIC, VOL_SCALED
from btc_platform.training.metrics import score, skill

BASELINE_WORDS = {STATIC: "the static-quantile band", VOL_SCALED: "the volatility-scaled band"}
# Skill of the whole forecast against the strongest baseline.
SKILL_METRICS = ("pinball_loss", "winkler_bps", "crps_bps")
# Skill of the p50 against zero return (the median of every baseline).
POINT_METRICS = ("mae_bps", "rmse_bps")


@dataclass(frozen=True, slots=True)
class Evaluation:
    model: dict[str, float]
    baselines: dict[str, dict[str, float]]  # name -> metrics, each with a zero-return median

    @classmethod
    def of(
        cls,
        actual: np.ndarray,
        forecast: np.ndarray,
        baselines: dict[str, np.ndarray],
        volatility: np.ndarray | None = None,
    ) -> Evaluation:
        return cls(
            model=score(actual, forecast, volatility),
            baselines={name: score(actual, band, volatility) for name, band in baselines.items()},
        )

    @property
    def strongest(self) -> str:
        """The baseline with the lowest pinball loss here: the one to beat."""
        return min(self.baselines, key=lambda name: self.baselines[name]["pinball_loss"])

    @property
    def baseline(self) -> dict[str, float]:
        return self.baselines[self.strongest]

    @property
    def skills(self) -> dict[str, float]:
        """> 0: the model beats the baseline. `pinball_loss_skill` is against the strongest
        baseline (what the gate uses), `pinball_skill_<name>` against each one."""
        strongest = self.baseline
        skills = {
            f"{metric}_skill": skill(self.model[metric], strongest[metric])
            for metric in (*SKILL_METRICS, *POINT_METRICS)
        }
        return skills | {
            f"pinball_skill_{name}": skill(self.model["pinball_loss"], metrics["pinball_loss"])
            for name, metrics in self.baselines.items()
        }

    def metrics(self) -> dict[str, float]:
        """Flat names for MLflow and Dagster: `holdout_*`, `<baseline>_*`, `*_skill`."""
        flat = {f"holdout_{k}": v for k, v in self.model.items()}
        for name, metrics in self.baselines.items():
            flat |= {f"{name}_{k}": v for k, v in metrics.items() if k != "directional_accuracy"}
        flat |= self.skills
        return {name: value for name, value in flat.items() if not math.isnan(value)}

    def verdict(self) -> str:
        """What the numbers mean, in words (point forecasts on BTC usually have no skill)."""
        skills = self.skills
        ranked = sorted(self.baselines, key=lambda name: self.baselines[name]["pinball_loss"])
        against = ", ".join(
            f"{skills[f'pinball_skill_{name}']:+.1%} vs {BASELINE_WORDS.get(name, name)}"
            for name in ranked
        )
        beaten = [name for name in ranked if skills[f"pinball_skill_{name}"] > 0]
        band = (
            "beats every baseline"
            if len(beaten) == len(ranked)
            else f"does not beat {BASELINE_WORDS.get(ranked[0], ranked[0])}"
        )
        point = skills["mae_bps_skill"]
        point_words = (
            "has about zero skill against"
            if abs(point) < 0.01
            else "beats"
            if point > 0
            else "loses to"
        )
        return (
            f"the p10-p90 band {band} (pinball skill {against}; coverage "
            f"{self.model['band_coverage']:.1%}); the point forecast {point_words} zero return "
            f"(MAE skill {point:+.2%})"
        )
