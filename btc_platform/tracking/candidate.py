"""A trained, registered model version waiting for the promotion gate."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

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
    # the holdout forecast of the model fit without the holdout (the gate compares on it)
    holdout_forecast: np.ndarray = field(default_factory=lambda: np.zeros((0, 3)))
    trained_until: datetime | None = None
