"""The live dashboard: price, the champion's forecast at each recent candle close with its
band, how those whose horizon has passed turned out, and the champion served.

The forecasts are recomputed for the page from the live candles (features are causal, so
each is what the champion says at that close), so the page is full right after a start or
a promotion.
"""

from __future__ import annotations

from datetime import timedelta
from importlib import resources

import pandas as pd

from btc_platform.features.indicators import FEATURES
from btc_platform.serving.api_models import Prediction
from btc_platform.serving.champion import ServedModel
from btc_platform.serving.forecast import prediction
from btc_platform.serving.live_candles import OHLCV
from btc_platform.serving.live_features import features_at_closes
from btc_platform.serving.runtime import LiveRuntime
from btc_platform.training.live_accuracy import live_metrics, outcomes

SHOWN_CANDLES = 120


def dashboard_page() -> str:
    return resources.files("btc_platform.serving").joinpath("dashboard.html").read_text()


def recent_forecasts(
    model: ServedModel, pair: str, candles: pd.DataFrame, interval: int, horizon: int
) -> list[Prediction]:
    return [
        prediction(model, point, model.quantiles(point.values), horizon)
        for point in features_at_closes(pair, candles, interval)[-SHOWN_CANDLES:]
    ]


def live_record(answers: list[Prediction], candles: pd.DataFrame, pair: str, interval: int) -> dict:
    if not answers:
        return {"outcomes": 0}
    answered = pd.DataFrame([a.model_dump() for a in answers])
    answered["as_of"] = pd.to_datetime(answered["as_of"]).dt.tz_localize(None)
    closes = candles.assign(pair=pair)[["pair", "window_start", "close"]]
    metrics = live_metrics(outcomes(answered, closes, interval), window=len(answers))
    if metrics.empty:
        return {"outcomes": 0}
    return {
        "outcomes": int(metrics["predictions"].iloc[0]),
        "mae_skill": float(metrics["mae_skill"].iloc[0]),
        "band_coverage": float(metrics["band_coverage"].iloc[0]),
    }


def dashboard_data(runtime: LiveRuntime, pair: str) -> dict[str, object]:
    interval = runtime.settings.candle_seconds
    candles = (
        runtime.candles[pair].candles() if pair in runtime.candles else pd.DataFrame(columns=OHLCV)
    )
    model = runtime.champion.current
    answers = (
        recent_forecasts(model, pair, candles, interval, runtime.settings.horizon_minutes)
        if model is not None and len(candles) > FEATURES.warmup_candles
        else []
    )
    shown = (
        candles.tail(SHOWN_CANDLES)
        if len(candles)
        else pd.DataFrame(columns=["window_start", "close"])
    )
    return {
        "pair": pair,
        "model_version": model.version if model else None,
        "problem": runtime.champion.problem,
        "candles": [
            {"t": (start + pd.Timedelta(seconds=interval)).isoformat() + "Z", "close": close}
            for start, close in zip(shown["window_start"], shown["close"], strict=True)
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
        "live": live_record(answers, candles, pair, interval),
    }
