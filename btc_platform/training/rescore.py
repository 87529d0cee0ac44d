"""Re-scoring the champion on the challenger's holdout, fairly.

A served model is refit on every row it had, its holdout included, so the champion may
have trained on part of a later challenger's holdout. It is only ever scored on the holdout
rows whose target was realized after its training data ended (`trained_until`); when fewer
than MIN_UNSEEN_ROWS of them exist, the comparison is not made and the decision waits for
more. The challenger's skill there carries a HAC 95% interval. A champion that is the
EWMA-blend rule is not re-scored: the gate's baselines include it.
"""

from __future__ import annotations

from datetime import datetime

import numpy as np
import pandas as pd

from btc_platform.training.dataset import TARGET
from btc_platform.training.forecaster import QuantileForecaster
from btc_platform.training.metrics import pinball_losses
from btc_platform.training.promotion import ChampionScore
from btc_platform.training.significance import skill_interval

MIN_UNSEEN_ROWS = 240


def rescore_on_holdout(
    version: str,
    model: QuantileForecaster,
    trained_until: datetime | None,
    holdout: pd.DataFrame,
    challenger: np.ndarray,
    interval_seconds: int,
    horizon_rows: int,
) -> ChampionScore:
    """`holdout`: the challenger's holdout rows (features, target); `challenger`: its
    forecast there (rows, 3); `trained_until`: when the champion's last target was realized
    (None: unknown, so it is not re-scored); `horizon_rows`: rows a target spans."""
    if model.is_baseline:  # the gate already held the challenger to this very rule
        return ChampionScore(
            version, None, reason="is the EWMA-blend rule, held to above as a baseline"
        )
    missing = [name for name in model.columns if name not in holdout.columns]
    if missing:
        return ChampionScore(
            version,
            None,
            reason="could not be re-scored: it uses features this set lacks "
            f"({', '.join(missing[:5])})",
        )
    if trained_until is None:
        return ChampionScore(
            version, None, reason="could not be re-scored: when its training data ended is unknown"
        )
    as_of = holdout["window_start"] + pd.Timedelta(seconds=interval_seconds)
    unseen = (as_of >= pd.Timestamp(trained_until)).to_numpy()
    count = int(unseen.sum())
    if count < MIN_UNSEEN_ROWS:
        return ChampionScore(
            version,
            None,
            rows=count,
            waits=True,
            reason=f"can be compared on only {count} holdout rows newer than its training "
            f"data (needs {MIN_UNSEEN_ROWS}): the decision waits for more data",
        )
    actual = holdout[TARGET].to_numpy()[unseen]
    champion_losses = pinball_losses(actual, model.predict(holdout[unseen]))
    challenger_losses = pinball_losses(actual, challenger[unseen])
    return ChampionScore(
        version,
        float(champion_losses.mean()),
        challenger_pinball=float(challenger_losses.mean()),
        rows=count,
        interval=skill_interval(challenger_losses, champion_losses, horizon_rows),
    )
