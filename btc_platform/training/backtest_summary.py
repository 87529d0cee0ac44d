"""What a backtest's predictions say: the evaluation against the three baselines over every
scored close, and per retrain chunk, so a user sees how it held up over time."""

from __future__ import annotations

import numpy as np
import pandas as pd

from btc_platform.training.baselines import EWMA_BLEND, STATIC, VOL_SCALED
from btc_platform.training.evaluation import Evaluation


def _bands(rows: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    zeros = np.zeros(len(rows))
    forecast = rows[["p10", "p50", "p90"]].to_numpy()
    baselines = {
        name: np.column_stack([rows[f"{name}_p10"], zeros, rows[f"{name}_p90"]])
        for name in (STATIC, VOL_SCALED, EWMA_BLEND)
        if rows[f"{name}_p10"].notna().all()  # an older table's rows lack the EWMA blend
    }
    return forecast, baselines


def scored(predictions: pd.DataFrame) -> pd.DataFrame:
    """The predictions whose outcome is known."""
    return predictions[predictions["realized_return"].notna()]


def evaluate_predictions(predictions: pd.DataFrame) -> Evaluation:
    """The scored predictions against the baselines, with coverage per volatility tercile."""
    rows = scored(predictions)
    if rows.empty:
        raise ValueError("backtest: no prediction has a realized outcome to score")
    forecast, baselines = _bands(rows)
    return Evaluation.of(
        rows["realized_return"].to_numpy(), forecast, baselines, rows["realized_vol"].to_numpy()
    )


def per_chunk(predictions: pd.DataFrame) -> pd.DataFrame:
    """Per champion's stretch: rows, coverage and pinball skill against each baseline."""
    rows = []
    for version, chunk in scored(predictions).groupby("model_version", sort=False):
        evaluation = evaluate_predictions(chunk)
        skills = evaluation.skills
        rows.append(
            {
                "model_version": version,
                "from": chunk["as_of"].iloc[0],
                "to": chunk["as_of"].iloc[-1],
                "rows": len(chunk),
                "band_coverage": evaluation.model["band_coverage"],
                **{
                    f"pinball_skill_{name}": skills[f"pinball_skill_{name}"]
                    for name in evaluation.baselines
                },
                "mae_skill": skills["mae_bps_skill"],
            }
        )
    return pd.DataFrame(rows)
