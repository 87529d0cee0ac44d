"""A trained, registered model version waiting for the promotion gate."""

from __future__ import annotations

from dataclasses import dataclass

from btc_platform.training.evaluation import Evaluation
from btc_platform.training.splits import Split


@dataclass(frozen=True, slots=True)
class Candidate:
    model_name: str
    version: str
    run_id: str
    evaluation: Evaluation
    holdout: Split
    median_guard: str = ""  # what the p50 guard decided, in words
