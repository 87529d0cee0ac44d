"""Walk-forward splits with a purge gap (rows, oldest first).

A row's target looks `purge` rows ahead, so the last `purge` rows before a test window
are left out of training: their targets overlap the test window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Split:
    train: slice
    test: slice


def holdout_split(rows: int, holdout_fraction: float, purge: int) -> Split:
    """The most recent `holdout_fraction` of rows is the holdout."""
    if not 0 < holdout_fraction < 1:
        raise ValueError(f"holdout_fraction must be between 0 and 1, got {holdout_fraction}")
    test_rows = math.ceil(rows * holdout_fraction)
    train_end = rows - test_rows - purge
    if train_end <= 0 or test_rows <= 0:
        raise ValueError(f"{rows} rows are too few for a holdout of {holdout_fraction:.0%}")
    return Split(train=slice(0, train_end), test=slice(rows - test_rows, rows))


def walk_forward_folds(rows: int, folds: int, purge: int) -> list[Split]:
    """Expanding-window folds: each trains on everything before its test window."""
    from sklearn.model_selection import TimeSeriesSplit  # slow import, only when tuning

    splitter = TimeSeriesSplit(n_splits=folds, gap=purge)
    return [
        Split(train=slice(0, int(train[-1]) + 1), test=slice(int(test[0]), int(test[-1]) + 1))
        for train, test in splitter.split(range(rows))
    ]
