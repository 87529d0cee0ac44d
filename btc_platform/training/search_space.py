"""The hyperparameter search space: a range per XGBoost parameter."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

LOG_SCALE = {"learning_rate", "min_child_weight", "reg_lambda"}
# Tried first (clipped into the space): a configuration known to do well on 1-minute BTC,
# so that even a budget of one trial gives a sane model.
STARTING_POINT = {
    "max_depth": 3,
    "n_estimators": 150,
    "learning_rate": 0.05,
    "min_child_weight": 50.0,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "reg_lambda": 10.0,
}


@dataclass(frozen=True, slots=True)
class SearchSpace:
    max_depth: tuple[int, int] = (2, 6)
    n_estimators: tuple[int, int] = (50, 300)
    learning_rate: tuple[float, float] = (0.02, 0.3)
    min_child_weight: tuple[float, float] = (1.0, 200.0)
    subsample: tuple[float, float] = (0.5, 1.0)
    colsample_bytree: tuple[float, float] = (0.4, 1.0)
    reg_lambda: tuple[float, float] = (0.1, 100.0)

    def __post_init__(self) -> None:
        for field in fields(self):
            bounds = getattr(self, field.name)
            if len(bounds) != 2:
                raise ValueError(f"search space {field.name}: need [low, high], got {list(bounds)}")
            low, high = bounds
            if not 0 < low <= high:
                raise ValueError(
                    f"search space {field.name}: need 0 < low <= high, got {low}, {high}"
                )
        for name in ("subsample", "colsample_bytree"):
            if getattr(self, name)[1] > 1:
                raise ValueError(f"search space {name}: values must be <= 1")

    def suggest(self, trial: optuna.Trial) -> dict[str, float | int]:
        params: dict[str, float | int] = {}
        for field in fields(self):
            low, high = getattr(self, field.name)
            if isinstance(low, int) and isinstance(high, int):
                params[field.name] = trial.suggest_int(field.name, low, high)
            else:
                params[field.name] = trial.suggest_float(
                    field.name, float(low), float(high), log=field.name in LOG_SCALE
                )
        return params

    def starting_point(self) -> dict[str, float | int]:
        """STARTING_POINT clipped into this space."""
        return {
            field.name: min(
                max(STARTING_POINT[field.name], getattr(self, field.name)[0]),
                getattr(self, field.name)[1],
            )
            for field in fields(self)
        }

    def as_dict(self) -> dict[str, list[float]]:
        return {name: list(bounds) for name, bounds in asdict(self).items()}
