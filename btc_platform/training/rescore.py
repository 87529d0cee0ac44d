"""Re-scoring the champion on the challenger's holdout, fairly.

A served model is refit on every row it had, its holdout included, so the champion may
have trained on part of a later challenger's holdout. Both are compared on the holdout rows
whose target was realized after the champion's training data ended (`trained_until`) when
there are enough of them; otherwise on the whole holdout, which favours the champion (it
has seen some of those rows) and says so.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from btc_platform.training.dataset import TARGET
from btc_platform.training.forecaster import Forecaster
from btc_platform.training.metrics import pinball_loss
from btc_platform.training.promotion import ChampionScore

MIN_UNSEEN_ROWS = 240


def rescore_on_holdout(
    version: str,
    model: Forecaster,
    trained_until: datetime | None,
    holdout: pd.DataFrame,
    challenger: np.ndarray,
    interval_seconds: int,
) -> ChampionScore:
    """`holdout`: the challenger's holdout rows (features, target); `challenger`: its
    forecast there (rows, 3); `trained_until`: when the champion's last target was realized
    (None: unknown)."""
    missing = [name for name in model.columns if name not in holdout.columns]
    if missing:
        return ChampionScore(
            version,
            None,
            reason="could not be re-scored: it uses features this set lacks "
            f"({', '.join(missing[:5])})",
        )
    as_of = holdout["window_start"] + pd.Timedelta(seconds=interval_seconds)
    unseen = (
        (as_of >= pd.Timestamp(trained_until)).to_numpy()
        if trained_until is not None
        else np.zeros(len(holdout), dtype=bool)
    )
    rows = unseen if unseen.sum() >= MIN_UNSEEN_ROWS else np.ones(len(holdout), dtype=bool)
    actual = holdout[TARGET].to_numpy()[rows]
    return ChampionScore(
        version,
        pinball_loss(actual, model.predict(holdout[rows])),
        challenger_pinball=pinball_loss(actual, challenger[rows]),
        rows=int(rows.sum()),
        seen_rows=int(rows.sum() - (rows & unseen).sum()),
    )
