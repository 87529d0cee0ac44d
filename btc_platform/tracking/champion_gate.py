"""Runs the promotion gate for a registered candidate and records the decision on it."""

from __future__ import annotations

from btc_platform.tracking.candidate import Candidate
from btc_platform.tracking.registry import Registry
from btc_platform.training.dataset import TrainingSet
from btc_platform.training.metrics import pinball_loss
from btc_platform.training.promotion import ChampionScore, Decision, decide


def rescore_champion(
    registry: Registry, dataset: TrainingSet, candidate: Candidate
) -> ChampionScore | None:
    """The current champion's pinball loss on the candidate's holdout rows."""
    champion = registry.champion()
    if champion is None or str(champion.version) == candidate.version:
        return None
    version = str(champion.version)
    try:
        model = registry.load(version)
    except Exception as error:  # e.g. a version of an older model format
        return ChampionScore(version, None, f"could not be loaded to re-score it: {error}")
    missing = [name for name in model.columns if name not in dataset.frame.columns]
    if missing:
        return ChampionScore(
            version,
            None,
            f"could not be re-scored: it uses features this set lacks ({', '.join(missing[:5])})",
        )
    holdout = dataset.frame.iloc[candidate.holdout.test]
    forecast = model.predict(holdout)
    return ChampionScore(version, pinball_loss(holdout["target"].to_numpy(), forecast))


def run_gate(
    registry: Registry, dataset: TrainingSet, candidate: Candidate, tolerance: float
) -> Decision:
    decision = decide(
        candidate.evaluation, rescore_champion(registry, dataset, candidate), tolerance
    )
    holdout = dataset.frame["window_start"].iloc[candidate.holdout.test]
    tags = decision.as_tags() | {"promotion.holdout": f"{holdout.iloc[0]} -> {holdout.iloc[-1]}"}
    if decision.promote:
        replaced = registry.promote(candidate.version)
        tags["promotion.replaced_version"] = replaced or "none"
    registry.tag(candidate.version, tags)
    return decision
