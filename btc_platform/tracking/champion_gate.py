"""Runs the promotion gate for a registered candidate and records the decision on it."""

from __future__ import annotations

from btc_platform.tracking.candidate import Candidate
from btc_platform.tracking.registry import Registry, trained_until
from btc_platform.training.dataset import TrainingSet
from btc_platform.training.promotion import ChampionScore, Decision, decide
from btc_platform.training.rescore import rescore_on_holdout


def rescore_champion(
    registry: Registry, dataset: TrainingSet, candidate: Candidate
) -> ChampionScore | None:
    """The current champion against the candidate on the candidate's holdout rows."""
    champion = registry.champion()
    if champion is None or str(champion.version) == candidate.version:
        return None
    version = str(champion.version)
    try:
        model = registry.load(version)
    except Exception as error:  # e.g. a version of an older model format
        return ChampionScore(version, None, reason=f"could not be loaded to re-score it: {error}")
    return rescore_on_holdout(
        version,
        model,
        trained_until(dict(champion.tags)),
        dataset.frame.iloc[candidate.holdout.test],
        candidate.holdout_forecast,
        dataset.lineage.interval_seconds,
        dataset.horizon_candles,
    )


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
