"""The REST contract: request and response bodies (they document themselves in OpenAPI)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, Field, model_validator

from btc_platform.settings import PAIR_PATTERN

Pair = Annotated[
    str, Field(pattern=PAIR_PATTERN.pattern, examples=["BTC/USD"], description="e.g. BTC/USD")
]
AnsweredBy = Annotated[
    str,
    Field(
        description="`model`: a trained model answers; `ewma_blend_rule`: the EWMA-blend "
        "baseline rule answers (no machine learning), until a trained model beats it "
        "significantly at the promotion gate."
    ),
]
Horizon = Annotated[
    int | None,
    Field(
        ge=1,
        le=1_440,
        examples=[5],
        description="Minutes ahead, one of BTC_HORIZONS (default: the first of them).",
    ),
]


class CandleIn(BaseModel):
    window_start: datetime = Field(description="The candle's open time, ISO-8601 UTC.")
    open: float = Field(gt=0)
    high: float = Field(gt=0)
    low: float = Field(gt=0)
    close: float = Field(gt=0)
    volume: float = Field(ge=0)
    trade_count: int | None = Field(default=None, ge=0, description="Trades in the window.")
    buy_volume: float | None = Field(
        default=None, ge=0, description="Volume of buyer-initiated trades (order flow)."
    )
    buy_count: int | None = Field(
        default=None, ge=0, description="Number of buyer-initiated trades (order flow)."
    )

    @model_validator(mode="after")
    def _ohlc(self) -> CandleIn:
        if not self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high:
            raise ValueError("low <= open, close <= high must hold")
        return self


class Skill(BaseModel):
    """How the model did on its holdout against the baselines (1 - model/baseline)."""

    band_pinball_skill: float | None = Field(
        description="> 0: the forecast beats the strongest baseline (what the gate uses)."
    )
    band_skill_vs_ewma_blend: float | None = Field(
        default=None,
        description="Pinball skill against the EWMA-blend band (a volatility rule, no ML).",
    )
    band_skill_vs_vol_scaled: float | None = Field(
        description="Pinball skill against the 60-minute volatility-scaled band."
    )
    band_skill_vs_static: float | None = Field(
        description="Pinball skill against the static-quantile band."
    )
    point_mae_skill: float | None = Field(description="> 0: the p50 beats zero return.")
    verdict: str | None


class Prediction(BaseModel):
    pair: str
    as_of: datetime = Field(description="Close time of the last complete candle used.")
    horizon_minutes: int
    current_price: float = Field(description="Close of that candle.")
    predicted_return: float = Field(description="p50 of the forward log return.")
    predicted_price: float
    band_low: float = Field(description="p10 as a price (after the live calibration).")
    band_high: float = Field(description="p90 as a price (after the live calibration).")
    band_scale: float = Field(
        description="The live calibration's factor on the band's half-widths (1: the model's)."
    )
    model_name: str = Field(description="The registered model of this pair and horizon.")
    model_version: str
    answered_by: AnsweredBy = "model"
    model_skill: Skill
    feature_age_seconds: float = Field(description="Seconds since `as_of`.")


class ModelCard(BaseModel):
    pair: str
    horizon_minutes: int
    name: str = Field(description="The registered model of this pair and horizon.")
    version: str
    answered_by: AnsweredBy = "model"
    feature_set: str | None
    training_window: str | None
    holdout_window: str | None
    holdout_metrics: dict[str, float]
    promotion: dict[str, str]
    median_guard: str | None = Field(
        description="What the p50 guard decided on the training folds."
    )
    live_calibration: dict[str, object] | None = Field(
        description="The live band calibration of this champion (None: not replayed yet)."
    )
    loading_problem: str | None = Field(description="Set when a newer champion failed to load.")
    missing: dict[str, str] = Field(
        description="Every served pair and horizon without a champion, with the reason."
    )
    background_failures: list[str] = Field(
        default_factory=list,
        description="Background work of the service failing now (what, since when, the error).",
    )


class ErrorBody(BaseModel):
    error: str
