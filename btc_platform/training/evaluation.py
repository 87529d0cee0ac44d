"""A model's evaluation next to the baselines' on the same rows, and what it means in words."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from btc_platform.training.baselines import EWMA_BLEND, STATIC, VOL_SCALED
from btc_platform.training.metrics import pinball_losses, score, skill
from btc_platform.training.significance import SkillInterval, skill_interval

BASELINE_WORDS = {
    STATIC: "the static-quantile band",
    VOL_SCALED: "the volatility-scaled band",
    EWMA_BLEND: "the EWMA-blend band",
}
# Skill of the whole forecast against the strongest baseline.
SKILL_METRICS = ("pinball_loss", "winkler_bps", "crps_bps")
# Skill of the p50 against zero return (the median of every baseline).
POINT_METRICS = ("mae_bps", "rmse_bps")


@dataclass(frozen=True, slots=True)
class Evaluation:
    model: dict[str, float]
    baselines: dict[str, dict[str, float]]  # name -> metrics, each with a zero-return median
    # name -> the pinball skill against that baseline with its HAC 95% interval
    intervals: dict[str, SkillInterval] = field(default_factory=dict)

    @classmethod
    def of(
        cls,
        actual: np.ndarray,
        forecast: np.ndarray,
        baselines: dict[str, np.ndarray],
        volatility: np.ndarray | None = None,
        horizon_rows: int = 1,
    ) -> Evaluation:
        """`horizon_rows`: rows a target spans (its overlap), the HAC bandwidth's floor."""
        losses = pinball_losses(actual, forecast)
        return cls(
            model=score(actual, forecast, volatility),
            baselines={name: score(actual, band, volatility) for name, band in baselines.items()},
            intervals={
                name: skill_interval(losses, pinball_losses(actual, band), horizon_rows)
                for name, band in baselines.items()
            },
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
        """Flat names for MLflow and Dagster: `holdout_*`, `<baseline>_*`, `*_skill`, and
        each pinball skill's 95% interval (`pinball_skill_<baseline>_low`/`_high`)."""
        flat = {f"holdout_{k}": v for k, v in self.model.items()}
        for name, metrics in self.baselines.items():
            flat |= {f"{name}_{k}": v for k, v in metrics.items() if k != "directional_accuracy"}
        flat |= self.skills
        for name, interval in self.intervals.items():
            flat |= {
                f"pinball_skill_{name}_low": interval.low,
                f"pinball_skill_{name}_high": interval.high,
            }
        return {name: value for name, value in flat.items() if math.isfinite(value)}

    def _skill_words(self, name: str, value: float) -> str:
        interval = self.intervals.get(name)
        return interval.describe() if interval else f"{value:+.1%}"

    def verdict(self) -> str:
        """What the numbers mean, in words (point forecasts on BTC usually have no skill)."""
        skills = self.skills
        ranked = sorted(self.baselines, key=lambda name: self.baselines[name]["pinball_loss"])
        against = ", ".join(
            f"{self._skill_words(name, skills[f'pinball_skill_{name}'])} vs "
            f"{BASELINE_WORDS.get(name, name)}"
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
