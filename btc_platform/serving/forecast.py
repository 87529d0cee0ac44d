"""Answers from forecasts: the REST prediction, what is logged of it, the model card."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from btc_platform.features.compute import FEATURES
from btc_platform.pair_horizon import PairHorizon
from btc_platform.serving.api_models import ModelCard, Prediction, Skill
from btc_platform.serving.champion import ServedModel
from btc_platform.serving.live_forecasts import Forecast
from btc_platform.training.band_calibration import BandCalibration

REALIZED_VOL = FEATURES.columns.index("realized_vol_60")


def _tag_float(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return None


def skill_of(model: ServedModel) -> Skill:
    tags = model.tags
    return Skill(
        band_pinball_skill=_tag_float(tags, "metric.pinball_loss_skill"),
        band_skill_vs_ewma_blend=_tag_float(tags, "metric.pinball_skill_ewma_blend"),
        band_skill_vs_vol_scaled=_tag_float(tags, "metric.pinball_skill_vol_scaled"),
        band_skill_vs_static=_tag_float(tags, "metric.pinball_skill_static"),
        point_mae_skill=_tag_float(tags, "metric.mae_bps_skill"),
        verdict=tags.get("verdict"),
    )


def prediction(
    model: ServedModel, forecast: Forecast, horizon_minutes: int, now: datetime | None = None
) -> Prediction:
    low, median, high = (float(q) + 0.0 for q in forecast.quantiles)  # + 0.0: no -0.0
    point = forecast.point
    as_of = point.as_of.replace(tzinfo=UTC)
    return Prediction(
        pair=point.pair,
        as_of=as_of,
        horizon_minutes=horizon_minutes,
        current_price=point.close,
        predicted_return=median,
        predicted_price=point.close * math.exp(median),
        band_low=point.close * math.exp(low),
        band_high=point.close * math.exp(high),
        band_scale=round(forecast.band_scale, 6),
        model_name=model.name,
        model_version=model.version,
        answered_by=model.answered_by,
        model_skill=skill_of(model),
        feature_age_seconds=round(((now or datetime.now(UTC)) - as_of).total_seconds(), 3),
    )


def logged_record(
    answer: Prediction, model: ServedModel, forecast: Forecast, horizon_candles: int
) -> dict[str, object]:
    """The answer plus what the accuracy loop scores it with: the volatility at forecast time
    and the volatility-scaled baseline's band (log returns; absent for older models)."""
    vol = float(forecast.point.values[REALIZED_VOL])
    z10 = _tag_float(model.tags, "baseline.vol_scaled_z10")
    z90 = _tag_float(model.tags, "baseline.vol_scaled_z90")
    record: dict[str, object] = answer.model_dump(mode="json") | {"realized_vol": vol}
    if z10 is not None and z90 is not None and np.isfinite(vol):
        scale = vol * math.sqrt(horizon_candles)
        record |= {"vol_baseline_low": scale * z10, "vol_baseline_high": scale * z90}
    return record


def model_card(
    target: PairHorizon,
    model: ServedModel,
    problem: str | None,
    calibration: BandCalibration | None,
    missing: dict[str, str],
) -> ModelCard:
    tags = model.tags
    first, last = tags.get("dataset.first_window"), tags.get("dataset.last_window")
    return ModelCard(
        pair=target.pair,
        horizon_minutes=target.horizon_minutes,
        name=model.name,
        version=model.version,
        answered_by=model.answered_by,
        feature_set=tags.get("feature_set"),
        training_window=f"{first} -> {last}" if first and last else None,
        holdout_window=tags.get("promotion.holdout"),
        holdout_metrics={
            key.removeprefix("metric."): value
            for key in tags
            if key.startswith("metric.") and (value := _tag_float(tags, key)) is not None
        },
        promotion={
            key.removeprefix("promotion."): value
            for key, value in tags.items()
            if key.startswith("promotion.")
        },
        median_guard=tags.get("median_guard"),
        live_calibration=calibration.as_dict() if calibration else None,
        loading_problem=problem,
        missing=missing,
    )
