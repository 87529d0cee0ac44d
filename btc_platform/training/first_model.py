"""The first model of a fresh platform: how much history it waits for, and a search budget
that fits those few rows so that it serves within minutes (the normal budget,
BTC_TRAINING_TRIALS on three folds, applies from the next retrain on)."""

from btc_platform.features.compute import FEATURES

# the features' warm-up plus rows to tune, purge and hold out
FIRST_MODEL_CANDLES = FEATURES.warmup_candles + 1_600
FIRST_MODEL_BUDGET = {"trials": 4, "cv_folds": 2}


def first_model_budget(default_trials: int) -> dict[str, int]:
    """The first model's search budget, never more trials than the normal one."""
    return FIRST_MODEL_BUDGET | {"trials": min(FIRST_MODEL_BUDGET["trials"], default_trials)}
