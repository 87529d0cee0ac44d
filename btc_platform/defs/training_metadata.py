"""Dagster metadata for training assets: the numbers, the verdict, the decision."""

from __future__ import annotations

import dagster as dg

from btc_platform.tracking.candidate import Candidate
from btc_platform.training.promotion import Decision


def candidate_metadata(candidate: Candidate, tracking_uri: str) -> dict[str, object]:
    evaluation = candidate.evaluation
    return {
        "model_version": f"{candidate.model_name} v{candidate.version}",
        "mlflow_run_id": candidate.run_id,
        "tracking_uri": tracking_uri,
        "verdict": evaluation.verdict(),
        **{name: dg.MetadataValue.float(round(v, 8)) for name, v in evaluation.metrics().items()},
    }


def decision_metadata(decision: Decision, candidate: Candidate) -> dict[str, object]:
    return {
        "model_version": f"{candidate.model_name} v{candidate.version}",
        "promoted": decision.promote,
        "reason": decision.reason,
        **{key.removeprefix("promotion."): value for key, value in decision.as_tags().items()},
    }
