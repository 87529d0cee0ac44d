"""The live dashboard: price, the champion's forecast at each recent candle close with its
calibrated band, how those whose horizon has passed turned out, the champion served and
its live band calibration.

The forecasts are the ones the service prepared at each close (replayed over the recent
history when the champion arrived), so the page is full right after a start or a promotion.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from importlib import resources

import pandas as pd

from btc_platform.pair_horizon import PairHorizon
from btc_platform.serving.api_models import Prediction
from btc_platform.serving.champion import ServedModel
from btc_platform.serving.forecast import prediction
from btc_platform.serving.live_candles import LIVE_CANDLE_COLUMNS
from btc_platform.serving.runtime import LiveRuntime
from btc_platform.training.live_accuracy import live_metrics, outcomes

SHOWN_CANDLES = 120


def dashboard_page() -> str:
    return resources.files("btc_platform.serving").joinpath("dashboard.html").read_text()


def live_record(answers: pd.DataFrame, candles: pd.DataFrame, pair: str, interval: int) -> dict:
    if answers.empty:
        return {"outcomes": 0}
    closes = candles.assign(pair=pair)[["pair", "window_start", "close"]]
    metrics = live_metrics(outcomes(answers, closes, interval), window=len(answers))
    if metrics.empty:
        return {"outcomes": 0}
    row = metrics.iloc[0]
    return {
        "outcomes": int(row["predictions"]),
        "mae_skill": float(row["mae_skill"]),
        "band_coverage": float(row["band_coverage"]),
    }


@dataclass(frozen=True, slots=True)
class LiveView:
    """A (pair, horizon)'s live candles and the champion's answers at its recent closes."""

    candles: pd.DataFrame
    model: ServedModel | None
    answers: list[Prediction]
    prepared: bool  # the forecasts are the served champion's

    def live_record(self, pair: str, interval: int) -> dict:
        answered = pd.DataFrame([a.model_dump() for a in self.answers])
        if not answered.empty:
            answered["as_of"] = pd.to_datetime(answered["as_of"]).dt.tz_localize(None)
        return live_record(answered, self.candles, pair, interval)


def live_view(runtime: LiveRuntime, target: PairHorizon) -> LiveView:
    pair = target.pair
    candles = (
        runtime.candles[pair].candles()
        if pair in runtime.candles
        else pd.DataFrame(columns=LIVE_CANDLE_COLUMNS)
    )
    model = runtime.champions.current(target)
    forecasts = runtime.forecasts[target]
    prepared = list(forecasts.recent) if model and forecasts.version == model.version else []
    answers = [prediction(model, f, target.horizon_minutes) for f in prepared] if model else []
    return LiveView(candles, model, answers, bool(prepared))


def dashboard_data(runtime: LiveRuntime, target: PairHorizon) -> dict[str, object]:
    interval = runtime.settings.candle_seconds
    pair = target.pair
    view = live_view(runtime, target)
    candles, model, answers = view.candles, view.model, view.answers
    forecasts = runtime.forecasts[target]
    shown = candles.tail(SHOWN_CANDLES)
    return {
        "pair": pair,
        "horizon_minutes": target.horizon_minutes,
        "served": [{"pair": t.pair, "horizon_minutes": t.horizon_minutes} for t in runtime.targets],
        "model_name": model.name if model else None,
        "model_version": model.version if model else None,
        "problem": runtime.champions[target].problem,
        "calibration": forecasts.calibration.as_dict() if view.prepared else None,
        "candles": [
            {
                "t": (start + pd.Timedelta(seconds=interval)).isoformat() + "Z",
                "close": close,
                "volume": volume,
            }
            for start, close, volume in zip(
                shown["window_start"], shown["close"], shown["volume"], strict=True
            )
        ],
        "forecasts": [
            {
                "as_of": a.as_of.isoformat(),
                "target": (a.as_of + timedelta(minutes=a.horizon_minutes)).isoformat(),
                "price": a.predicted_price,
                "low": a.band_low,
                "high": a.band_high,
            }
            for a in answers
        ],
        "live": view.live_record(pair, interval),
    }
