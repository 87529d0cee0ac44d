"""The walk-forward backtest: would the platform have worked on this history?

At every retrain point R (every `retrain_every` from `since` to `until`) a model is trained
by the same pipeline and gate as `train`, on the rows whose target was realized by R only,
and (when it beats the baselines and the backtest's own champion on its holdout, both
significantly) becomes the champion. As on the platform, the first champion is the EWMA-blend
rule, fitted at the first point with history enough: the closes before a trained model wins
are scored with what would have answered then, not left out. The champion forecasts every
candle close from R to the next point with the same features, model and live band
calibration the service runs (a new champion takes the calibration over and is replayed over
the closes before R, learning only from outcomes after its training data, as the service
does). Nothing at a close depends on anything after it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
import pandas as pd

from btc_platform.features.compute import feature_set_for
from btc_platform.training.band_calibration import BandCalibration
from btc_platform.training.baseline_rule import BaselineRule
from btc_platform.training.baselines import (
    EWMA_BLEND,
    SCALES,
    VOL_SCALED,
    scales_of,
    standardized_bands,
    static_band,
    vol_scaled_band,
)
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import (
    TARGET,
    TrainingSet,
    build_training_set,
    forward_log_return,
)
from btc_platform.training.forecaster import QuantileForecaster
from btc_platform.training.promotion import ChampionScore, decide
from btc_platform.training.rescore import rescore_on_holdout
from btc_platform.training.trainer import TrainedModel, train

REPLAYED = 240  # closes before a retrain point the calibration of a new champion replays


@dataclass(frozen=True, slots=True)
class BacktestSpec:
    pair: str
    interval_seconds: int
    horizon_minutes: int
    since: datetime
    until: datetime
    retrain_every: timedelta
    config: TrainingConfig
    tolerance: float

    def __post_init__(self) -> None:
        if self.until <= self.since:
            raise ValueError(f"backtest: --until {self.until} is not after --since {self.since}")
        if self.retrain_every <= timedelta(0):
            raise ValueError("backtest: --retrain-every must be positive")

    def retrain_points(self) -> list[datetime]:
        points, at = [], self.since
        while at < self.until:
            points.append(at)
            at += self.retrain_every
        return points


@dataclass(frozen=True, slots=True)
class Retrain:
    at: datetime
    rows: int
    trained_until: datetime | None
    version: str | None  # the champion forecasting after it ("bt-3"), None: no champion
    promoted: bool
    reason: str
    seconds: float


@dataclass
class BacktestResult:
    spec: BacktestSpec
    retrains: list[Retrain] = field(default_factory=list)
    predictions: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class _Champion:
    version: str
    forecaster: QuantileForecaster
    trained_until: datetime
    static: tuple[float, float]
    z_bands: dict[str, tuple[float, float]]  # each volatility-scaled baseline's, by name


def _close_times(frame: pd.DataFrame, interval_seconds: int) -> pd.Series:
    return frame["window_start"] + pd.Timedelta(seconds=interval_seconds)


def _candidate(
    spec: BacktestSpec, features: pd.DataFrame, candles: pd.DataFrame, at: datetime
) -> tuple[TrainingSet, TrainedModel] | None:
    """The training set of what was known at `at`, and the model trained on it."""
    step = pd.Timedelta(seconds=spec.interval_seconds)
    known_features = features[_close_times(features, spec.interval_seconds) <= at]
    known_candles = candles[candles["window_start"] + step <= at]
    try:
        dataset = build_training_set(
            known_features,
            known_candles,
            feature_set_for(known_features),
            spec.pair,
            spec.interval_seconds,
            spec.horizon_minutes,
        )
        return dataset, train(dataset, spec.config)
    except ValueError:  # too little history yet
        return None


def _rescore(
    spec: BacktestSpec, champion: _Champion | None, dataset: TrainingSet, model: TrainedModel
) -> ChampionScore | None:
    if champion is None:
        return None
    return rescore_on_holdout(
        champion.version,
        champion.forecaster,
        champion.trained_until,
        dataset.frame.iloc[model.holdout.test],
        model.holdout_forecast,
        spec.interval_seconds,
        dataset.horizon_candles,
    )


def _champion_of(version: str, forecaster: QuantileForecaster, dataset: TrainingSet) -> _Champion:
    """The champion `forecaster` is, with the baselines of the history it was fitted on."""
    history = dataset.frame
    return _Champion(
        version=version,
        forecaster=forecaster,
        trained_until=dataset.trained_until,
        static=tuple(static_band(history[TARGET].to_numpy(), 1)[0, [0, 2]]),
        z_bands=standardized_bands(
            history[TARGET].to_numpy(), scales_of(history), dataset.horizon_candles
        ),
    )


def _forecast_chunk(
    spec: BacktestSpec,
    champion: _Champion,
    calibration: BandCalibration,
    rows: pd.DataFrame,
) -> pd.DataFrame:
    """The champion's calibrated forecasts at each close of `rows` (oldest first)."""
    raw = champion.forecaster.predict(rows)
    times = _close_times(rows, spec.interval_seconds).dt.to_pydatetime()
    closes = rows["close"].to_numpy()
    calibrated = np.empty_like(raw)
    factors = np.empty(len(rows))
    for i, (at, close) in enumerate(zip(times, closes, strict=True)):
        calibrated[i] = calibration.step(at, float(close), raw[i])
        factors[i] = calibration.factor
    horizon_candles = spec.horizon_minutes * 60 // spec.interval_seconds
    bands = {
        name: vol_scaled_band(champion.z_bands[name], vol, horizon_candles)
        for name, vol in scales_of(rows).items()
    }
    return pd.DataFrame(
        {
            "as_of": times,
            "model_version": champion.version,
            "trained_until": champion.trained_until,
            "current_price": closes,
            "p10": calibrated[:, 0],
            "p50": calibrated[:, 1],
            "p90": calibrated[:, 2],
            "realized_return": rows[TARGET].to_numpy(),
            "band_scale": factors,
            "realized_vol": rows[SCALES[VOL_SCALED]].to_numpy(),
            "vol_scaled_p10": bands[VOL_SCALED][:, 0],
            "vol_scaled_p90": bands[VOL_SCALED][:, 2],
            "static_p10": champion.static[0],
            "static_p90": champion.static[1],
            "ewma_blend_p10": bands[EWMA_BLEND][:, 0],
            "ewma_blend_p90": bands[EWMA_BLEND][:, 2],
        }
    )


def run_backtest(
    spec: BacktestSpec,
    features: pd.DataFrame,
    candles: pd.DataFrame,
    on_retrain: Callable[[Retrain, int, int], None] = lambda *_: None,
) -> BacktestResult:
    """`features`: window_start + feature columns; `candles`: window_start, close (+ trade
    counts), both of the pair, oldest first. `on_retrain(retrain, done, total)` reports."""
    horizon = pd.Timedelta(minutes=spec.horizon_minutes)
    target = forward_log_return(candles, spec.horizon_minutes, spec.interval_seconds)
    closes = candles.set_index("window_start")["close"]
    frame = features.merge(target.reset_index(), on="window_start", how="left")
    frame["close"] = closes.reindex(frame["window_start"]).to_numpy()
    result = BacktestResult(spec)
    champion: _Champion | None = None
    calibration = BandCalibration(horizon.to_pytimedelta())
    points = spec.retrain_points()
    chunks = []
    for index, at in enumerate(points):
        started = time.monotonic()
        trained = _candidate(spec, features, candles, at)
        promoted, reason, rows = False, "too little history yet", 0
        if trained is not None:
            dataset, model = trained
            rows = len(dataset.frame)
            decision = decide(
                model.evaluation, _rescore(spec, champion, dataset, model), spec.tolerance
            )
            promoted, reason = decision.promote, decision.reason
            if champion is None or promoted:
                label = f"bt-{index + 1}" if promoted else f"bt-rule-{index + 1}"
                forecaster = model.forecaster if promoted else BaselineRule.fit(dataset)
                champion = _champion_of(label, forecaster, dataset)
                calibration = calibration.handover(champion.trained_until)
                before = frame[_close_times(frame, spec.interval_seconds) < at].tail(REPLAYED)
                if len(before):
                    _forecast_chunk(spec, champion, calibration, before)
        end = points[index + 1] if index + 1 < len(points) else spec.until
        as_of = _close_times(frame, spec.interval_seconds)
        chunk = frame[(as_of >= at) & (as_of < end)]
        if champion is not None and len(chunk):
            chunks.append(_forecast_chunk(spec, champion, calibration, chunk))
        retrain = Retrain(
            at=at,
            rows=rows,
            trained_until=champion.trained_until if champion else None,
            version=champion.version if champion else None,
            promoted=promoted,
            reason=reason,
            seconds=time.monotonic() - started,
        )
        result.retrains.append(retrain)
        on_retrain(retrain, index + 1, len(points))
    result.predictions = (
        pd.concat(chunks, ignore_index=True) if chunks else pd.DataFrame(columns=PREDICTION_COLUMNS)
    )
    return result


PREDICTION_COLUMNS = [
    "as_of",
    "model_version",
    "trained_until",
    "current_price",
    "p10",
    "p50",
    "p90",
    "realized_return",
    "band_scale",
    "realized_vol",
    "vol_scaled_p10",
    "vol_scaled_p90",
    "static_p10",
    "static_p90",
    "ewma_blend_p10",
    "ewma_blend_p90",
]
