"""One pair's forecasts by the served champion at each candle close, band calibrated live.

When another champion is served, it takes the calibration over (`BandCalibration.handover`:
the factor the live outcomes built) and is replayed over the recent live history (its
forecasts at the last closes), learning only from the outcomes after its training data ended.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from btc_platform.serving.champion import ServedModel
from btc_platform.serving.live_features import LatestFeatures
from btc_platform.training.band_calibration import BandCalibration


@dataclass(frozen=True, slots=True)
class Forecast:
    point: LatestFeatures
    quantiles: np.ndarray  # calibrated p10, p50, p90 of the forward log return
    band_scale: float  # the calibration's factor on the band's half-widths


class PairForecasts:
    def __init__(self, horizon: timedelta, kept: int) -> None:
        self.horizon = horizon
        self.version: str | None = None
        self.calibration = BandCalibration(horizon)
        self.recent: deque[Forecast] = deque(maxlen=kept)

    def rebuild(self, model: ServedModel, points: list[LatestFeatures]) -> None:
        """Start over for `model`, replaying it over the closes in `points` (oldest first).

        The version is set once the replay is done: until then, answers (on another thread)
        get the raw quantiles and the calibration reads as not replayed yet."""
        self.version = None
        self.calibration = self.calibration.handover(model.trained_until)
        self.recent.clear()
        self.on_closes(model, points)
        self.version = model.version

    def on_closes(self, model: ServedModel, points: list[LatestFeatures]) -> None:
        """The next closes of the same champion, oldest first."""
        if points:
            raw = model.quantiles_many(np.vstack([p.values for p in points]))
            for point, quantiles in zip(points, raw, strict=True):
                self._step(point, quantiles)

    def _step(self, point: LatestFeatures, quantiles: np.ndarray) -> Forecast:
        calibrated = self.calibration.step(point.as_of, point.close, quantiles)
        forecast = Forecast(point, calibrated, self.calibration.factor)
        self.recent.append(forecast)
        return forecast

    def latest(self, model: ServedModel, point: LatestFeatures) -> Forecast:
        """The forecast for `point` by `model`: the prepared one, or (the champion has just
        changed and no close was replayed yet) its raw quantiles, uncalibrated."""
        if self.version == model.version and self.recent:
            prepared = self.recent[-1]
            if prepared.point.window_start == point.window_start:
                return prepared
        return Forecast(point, model.quantiles(point.values), 1.0)
