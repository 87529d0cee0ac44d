"""The baselines a model must beat: zero return for the median, static quantiles for the band."""

from __future__ import annotations

import numpy as np

from btc_platform.training.metrics import QUANTILES


def baseline_quantiles(train_target: np.ndarray, rows: int) -> np.ndarray:
    """(rows, 3): the training window's p10 and p90 of the target, and 0 as the median."""
    low, high = np.quantile(train_target, [QUANTILES[0], QUANTILES[2]])
    return np.tile([low, 0.0, high], (rows, 1))
