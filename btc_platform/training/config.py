"""How a model is trained: search budget and space, folds, holdout, seed."""

from __future__ import annotations

from dataclasses import dataclass, field

from btc_platform.training.search_space import SearchSpace


@dataclass(frozen=True, slots=True)
class TrainingConfig:
    trials: int = 20
    cv_folds: int = 3
    holdout_fraction: float = 0.2
    seed: int = 42
    threads: int = 2
    space: SearchSpace = field(default_factory=SearchSpace)

    def __post_init__(self) -> None:
        if self.trials < 1:
            raise ValueError(f"trials must be >= 1, got {self.trials}")
        if self.cv_folds < 2:
            raise ValueError(f"cv_folds must be >= 2, got {self.cv_folds}")
