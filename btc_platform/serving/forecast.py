"""A prediction from a model's quantiles and the features they came from."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np

from btc_platform.serving.api_models import ModelCard, Prediction, Skill
from btc_platform.serving.champion import ServedModel
from btc_platform.serving.live_features import LatestFeatures


def _tag_float(tags: dict[str, str], key: str) -> float | None:
    try:
        return float(tags[key])
    except (KeyError, ValueError):
        return None


def skill_of(model: ServedModel) -> Skill:
    return Skill(
        band_pinball_skill=_tag_float(model.tags, "metric.pinball_loss_skill"),
        point_mae_skill=_tag_float(model.tags, "metric.mae_bps_skill"),
        verdict=model.tags.get("verdict"),
    )


def prediction(
    model: ServedModel,
    features: LatestFeatures,
    quantiles: np.ndarray,
    horizon_minutes: int,
    now: datetime | None = None,
) -> Prediction:
    low, median, high = (float(q) for q in quantiles)
    as_of = features.as_of.replace(tzinfo=UTC)
    return Prediction(
        pair=features.pair,
        as_of=as_of,
        horizon_minutes=horizon_minutes,
        current_price=features.close,
        predicted_return=median,
        predicted_price=features.close * math.exp(median),
        band_low=features.close * math.exp(low),
        band_high=features.close * math.exp(high),
        model_version=model.version,
        model_skill=skill_of(model),
        feature_age_seconds=round(((now or datetime.now(UTC)) - as_of).total_seconds(), 3),
    )


def model_card(model: ServedModel, problem: str | None) -> ModelCard:
    tags = model.tags
    first, last = tags.get("dataset.first_window"), tags.get("dataset.last_window")
    return ModelCard(
        name=model.name,
        version=model.version,
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
        loading_problem=problem,
    )
