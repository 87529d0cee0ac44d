"""Dagster metadata for training assets: the numbers, the verdict, the decision."""

from __future__ import annotations

import dagster as dg
import pandas as pd

from btc_platform.defs.metadata import markdown_table
from btc_platform.tracking.candidate import Candidate
from btc_platform.training.evaluation import Evaluation
from btc_platform.training.promotion import Decision

COMPARED = ("pinball_loss", "crps_bps", "winkler_bps", "mae_bps", "band_coverage")


def comparison_table(evaluation: Evaluation) -> dg.MetadataValue:
    """The holdout's key numbers for the model and each baseline, side by side."""
    table = pd.DataFrame(
        {
            "model": [evaluation.model[m] for m in COMPARED],
            **{
                name: [scores[m] for m in COMPARED] for name, scores in evaluation.baselines.items()
            },
        },
        index=list(COMPARED),
    )
    return markdown_table(table.rename_axis("metric").reset_index().round(8))


def candidate_metadata(candidate: Candidate, tracking_uri: str) -> dict[str, object]:
    evaluation = candidate.evaluation
    return {
        "model_version": f"{candidate.model_name} v{candidate.version}",
        "mlflow_run_id": candidate.run_id,
        "tracking_uri": tracking_uri,
        "verdict": evaluation.verdict(),
        "median_guard": candidate.median_guard,
        "vs_baselines": comparison_table(evaluation),
        **{name: dg.MetadataValue.float(round(v, 8)) for name, v in evaluation.metrics().items()},
    }


def decision_metadata(decision: Decision, candidate: Candidate) -> dict[str, object]:
    return {
        "model_version": f"{candidate.model_name} v{candidate.version}",
        "promoted": decision.promote,
        "reason": decision.reason,
        **{key.removeprefix("promotion."): value for key, value in decision.as_tags().items()},
    }
