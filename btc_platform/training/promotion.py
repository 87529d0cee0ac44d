"""The promotion gate: which model the registry's `champion` alias may point at.

A challenger is promoted only if, on the same holdout, its mean pinball loss beats the
strongest baseline's there (zero-return median with the static, the volatility-scaled or the
EWMA-blend band, whichever scores best) **significantly** (the skill's HAC 95% interval lies
above zero), its median is not worse than zero return by more than `tolerance` of the MAE,
and (when there is a trained champion) it beats the champion significantly on the holdout
rows the champion never trained on; with too few of those, the decision waits. A champion
that is the EWMA-blend rule is the EWMA-blend baseline itself. Every decision records the
skill against each baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from btc_platform.training.evaluation import BASELINE_WORDS, Evaluation
from btc_platform.training.significance import SkillInterval

DEFAULT_TOLERANCE = 0.005


@dataclass(frozen=True, slots=True)
class ChampionScore:
    version: str
    pinball_loss: float | None  # None: it was not re-scored (reason says why)
    challenger_pinball: float | None = None  # the challenger's on the same rows
    rows: int = 0  # the holdout rows newer than the champion's training data
    reason: str = ""
    waits: bool = False  # too few unseen rows: no decision against it yet
    interval: SkillInterval | None = None  # the challenger's skill against it there

    def where(self) -> str:
        return f"on the {self.rows} holdout rows newer than its training data"


@dataclass(frozen=True, slots=True)
class Decision:
    promote: bool
    reason: str
    challenger_pinball: float
    baseline: str  # the strongest baseline on this holdout
    baseline_pinball: float
    champion_version: str | None
    champion_pinball: float | None
    mae_skill: float
    tolerance: float
    skills: dict[str, float] = field(default_factory=dict)  # pinball skill per baseline
    intervals: dict[str, str] = field(default_factory=dict)  # the skills' 95% intervals, in words

    def as_tags(self) -> dict[str, str]:
        return (
            {
                "promotion.decision": "promoted" if self.promote else "rejected",
                "promotion.reason": self.reason,
                "promotion.challenger_pinball": f"{self.challenger_pinball:.6g}",
                "promotion.baseline": self.baseline,
                "promotion.baseline_pinball": f"{self.baseline_pinball:.6g}",
                "promotion.champion_version": self.champion_version or "none",
                "promotion.champion_pinball": (
                    f"{self.champion_pinball:.6g}" if self.champion_pinball is not None else "n/a"
                ),
                "promotion.mae_skill": f"{self.mae_skill:.6g}",
                "promotion.tolerance": str(self.tolerance),
            }
            | {f"promotion.skill_vs_{name}": f"{value:.6g}" for name, value in self.skills.items()}
            | {f"promotion.interval_vs_{name}": words for name, words in self.intervals.items()}
        )


def _insignificant(interval: SkillInterval | None, against: str) -> str | None:
    if interval is not None and interval.significant:
        return None
    described = interval.describe() if interval else "without an interval"
    return (
        f"pinball skill {described} vs {against} is not significant "
        "(promotion needs the whole 95% interval above zero)"
    )


def _baseline_gate(evaluation: Evaluation, tolerance: float) -> str | None:
    """Why the challenger fails the baseline gate, or None when it passes."""
    model, baseline = evaluation.model, evaluation.baseline
    words = BASELINE_WORDS.get(evaluation.strongest, evaluation.strongest)
    if model["pinball_loss"] >= baseline["pinball_loss"]:
        return (
            f"pinball loss {model['pinball_loss']:.6g} does not beat {words}'s "
            f"{baseline['pinball_loss']:.6g}"
        )
    insignificant = _insignificant(evaluation.intervals.get(evaluation.strongest), words)
    if insignificant:
        return insignificant
    if model["mae_bps"] > baseline["mae_bps"] * (1 + tolerance):
        return (
            f"p50 MAE {model['mae_bps']:.4g} bps is worse than zero return's "
            f"{baseline['mae_bps']:.4g} bps by more than {tolerance:.1%}"
        )
    return None


def _named(version: str) -> str:
    """`v3` for a registry version, the label itself for others (a backtest's `bt-2`)."""
    return f"v{version}" if version.isdigit() else version


def _champion_gate(champion: ChampionScore | None) -> str | None:
    if champion is None:
        return None
    name = _named(champion.version)
    if champion.waits:
        return f"champion {name} {champion.reason}"
    if champion.pinball_loss is None or champion.challenger_pinball is None:
        return None
    if champion.challenger_pinball >= champion.pinball_loss:
        return (
            f"pinball loss {champion.challenger_pinball:.6g} does not beat champion {name}'s "
            f"{champion.pinball_loss:.6g} {champion.where()}"
        )
    return _insignificant(champion.interval, f"champion {name} {champion.where()}")


def _success(champion: ChampionScore | None) -> str:
    if champion is None:
        return "beats the baselines significantly; no champion yet"
    name = _named(champion.version)
    if champion.pinball_loss is None:
        return f"beats the baselines significantly; champion {name} {champion.reason}"
    against = champion.interval.describe() if champion.interval else ""
    return f"beats the baselines and champion {name} significantly ({against} {champion.where()})"


def decide(
    evaluation: Evaluation, champion: ChampionScore | None, tolerance: float = DEFAULT_TOLERANCE
) -> Decision:
    failure = _baseline_gate(evaluation, tolerance) or _champion_gate(champion)
    skills = evaluation.skills
    return Decision(
        promote=failure is None,
        reason=failure or _success(champion),
        challenger_pinball=evaluation.model["pinball_loss"],
        baseline=evaluation.strongest,
        baseline_pinball=evaluation.baseline["pinball_loss"],
        champion_version=champion.version if champion else None,
        champion_pinball=champion.pinball_loss if champion else None,
        mae_skill=skills["mae_bps_skill"],
        tolerance=tolerance,
        skills={name: skills[f"pinball_skill_{name}"] for name in evaluation.baselines},
        intervals={name: i.describe() for name, i in evaluation.intervals.items()}
        | ({"champion": champion.interval.describe()} if champion and champion.interval else {}),
    )
