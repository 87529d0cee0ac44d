"""The p50 guard: a median with no skill must not cost the user.

Decided on the tuning folds (out-of-fold forecasts of the best trial), never on the
holdout. For each shrink factor on a grid, the p50 times the factor is compared with zero
return by a Diebold-Mariano test on the absolute errors of all folds (a HAC variance whose
bandwidth is chosen from the data and never below the horizon: overlapping horizons and a
persistent p50 make errors correlated for long; see `significance`). A factor counts only
when its gain is strong (t > 3: a wrong p50 costs every answer, so the bar is high, and four
factors are tried) and it also beats zero return in the most recent fold (the one most like
what comes next). The factor kept is the one with the largest gain among those; when none
counts, the p50 is zero return itself. A model whose band is good is then never blocked,
nor made worse, by p50 noise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from btc_platform.training.significance import gain_t

SHRINK_GRID = (1.0, 0.75, 0.5, 0.25)
SIGNIFICANT_T = 3.0


@dataclass(frozen=True, slots=True)
class MedianGuard:
    shrink: float
    mae_skill: float  # out-of-fold MAE skill against zero return, at `shrink`
    t_stat: float  # Diebold-Mariano t of that gain

    def describe(self) -> str:
        if self.shrink == 0:
            return (
                "p50 set to zero return: on the training folds it did not beat zero return "
                f"significantly (best Diebold-Mariano t {self.t_stat:.2f} < {SIGNIFICANT_T})"
            )
        return (
            f"p50 kept at {self.shrink:.0%}: on the training folds it beats zero return by "
            f"{self.mae_skill:+.2%} MAE (Diebold-Mariano t {self.t_stat:.2f})"
        )


def choose_median_shrink(folds: list[tuple[np.ndarray, np.ndarray]], lag: int) -> MedianGuard:
    """`folds`: (actual, forecast (rows, 3)) per tuning fold; `lag`: the horizon in rows."""
    actual = np.concatenate([a for a, _ in folds])
    median = np.concatenate([f[:, 1] for _, f in folds])
    zero_error = np.abs(actual)
    latest_actual, latest_forecast = folds[-1]
    best = MedianGuard(0.0, 0.0, -np.inf)
    for shrink in SHRINK_GRID:
        gain = zero_error - np.abs(actual - shrink * median)
        t_stat, _ = gain_t(gain, lag)
        skill = float(gain.mean() / zero_error.mean()) if zero_error.mean() > 0 else 0.0
        latest_gain = np.abs(latest_actual) - np.abs(latest_actual - shrink * latest_forecast[:, 1])
        strong = t_stat > SIGNIFICANT_T and latest_gain.mean() > 0
        if strong and (best.shrink == 0 or skill > best.mae_skill):
            best = MedianGuard(shrink, skill, t_stat)
        elif best.shrink == 0 and t_stat > best.t_stat:
            best = MedianGuard(0.0, 0.0, t_stat)
    return best
