"""The promotion gate: which model the registry's `champion` alias may point at.

A challenger is promoted only if, on the same holdout, its mean pinball loss beats the
strongest baseline's there (zero-return median with the static or the volatility-scaled
band, whichever scores better), its median is not worse than zero return by more than
`tolerance` of the MAE, and (when there is a champion) its pinball loss beats the champion's
re-scored there. Every decision records the skill against each baseline.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from btc_platform.training.evaluation import BASELINE_WORDS, Evaluation

DEFAULT_TOLERANCE = 0.005


@dataclass(frozen=True, slots=True)
class ChampionScore:
    version: str
    pinball_loss: float | None  # None: it could not be re-scored (reason says why)
    # the challenger's pinball loss on the same rows (None: on its whole holdout)
    challenger_pinball: float | None = None
    rows: int = 0  # the holdout rows both were scored on
    seen_rows: int = 0  # of which the champion had trained on
    reason: str = ""

    def where(self) -> str:
        if not self.seen_rows:
            return f"on the {self.rows} holdout rows newer than its training data"
        return f"on the whole holdout ({self.rows} rows, {self.seen_rows} of which it trained on)"


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

    def as_tags(self) -> dict[str, str]:
        return {
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
        } | {f"promotion.skill_vs_{name}": f"{value:.6g}" for name, value in self.skills.items()}


def _baseline_gate(evaluation: Evaluation, tolerance: float) -> str | None:
    """Why the challenger fails the baseline gate, or None when it passes."""
    model, baseline = evaluation.model, evaluation.baseline
    if model["pinball_loss"] >= baseline["pinball_loss"]:
        words = BASELINE_WORDS.get(evaluation.strongest, evaluation.strongest)
        return (
            f"pinball loss {model['pinball_loss']:.6g} does not beat {words}'s "
            f"{baseline['pinball_loss']:.6g}"
        )
    if model["mae_bps"] > baseline["mae_bps"] * (1 + tolerance):
        return (
            f"p50 MAE {model['mae_bps']:.4g} bps is worse than zero return's "
            f"{baseline['mae_bps']:.4g} bps by more than {tolerance:.1%}"
        )
    return None


def _named(version: str) -> str:
    """`v3` for a registry version, the label itself for others (a backtest's `bt-2`)."""
    return f"v{version}" if version.isdigit() else version


def _champion_gate(challenger: float, champion: ChampionScore | None) -> str | None:
    if champion is None or champion.pinball_loss is None:
        return None
    ours = champion.challenger_pinball if champion.challenger_pinball is not None else challenger
    if ours < champion.pinball_loss:
        return None
    where = champion.where() if champion.rows else "on the same holdout"
    return (
        f"pinball loss {ours:.6g} does not beat champion {_named(champion.version)}'s "
        f"{champion.pinball_loss:.6g} {where}"
    )


def _success(champion: ChampionScore | None) -> str:
    if champion is None:
        return "beats the baselines; no champion yet"
    name = _named(champion.version)
    if champion.pinball_loss is None:
        return f"beats the baselines; champion {name} {champion.reason}"
    return (
        f"beats the baselines and champion {name} ({champion.challenger_pinball:.6g} vs "
        f"{champion.pinball_loss:.6g} {champion.where()})"
        if champion.rows
        else f"beats the baselines and champion {name} ({champion.pinball_loss:.6g})"
    )


def decide(
    evaluation: Evaluation, champion: ChampionScore | None, tolerance: float = DEFAULT_TOLERANCE
) -> Decision:
    challenger = evaluation.model["pinball_loss"]
    failure = _baseline_gate(evaluation, tolerance) or _champion_gate(challenger, champion)
    skills = evaluation.skills
    return Decision(
        promote=failure is None,
        reason=failure or _success(champion),
        challenger_pinball=challenger,
        baseline=evaluation.strongest,
        baseline_pinball=evaluation.baseline["pinball_loss"],
        champion_version=champion.version if champion else None,
        champion_pinball=champion.pinball_loss if champion else None,
        mae_skill=skills["mae_bps_skill"],
        tolerance=tolerance,
        skills={name: skills[f"pinball_skill_{name}"] for name in evaluation.baselines},
    )
