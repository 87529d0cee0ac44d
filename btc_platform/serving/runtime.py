"""The live side of the service: warm-up, the trade follower, candles, features, champion.

One background thread warms up from the offline store and then follows Kafka; each batch
of trades updates the pairs' candles, and every candle that closes recomputes the pair's
features and the champion's calibrated forecast (once per candle, never per request).
Requests only read: the newest features and the forecast prepared for them.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

import pandas as pd

from btc_platform.broker.topics import Topics
from btc_platform.features.compute import FEATURES
from btc_platform.logs import get_logger
from btc_platform.serving.api_models import Prediction
from btc_platform.serving.champion import ChampionWatcher, ServedModel
from btc_platform.serving.forecast import logged_record, prediction
from btc_platform.serving.live_candles import PairCandles
from btc_platform.serving.live_features import LatestFeatures, features_at_closes
from btc_platform.serving.live_forecasts import Forecast, PairForecasts
from btc_platform.serving.prediction_log import PredictionLog
from btc_platform.serving.trade_follower import TradeFollower
from btc_platform.serving.warm_start import read_warm_start
from btc_platform.settings import Settings
from btc_platform.training.band_calibration import BandCalibration, widen

log = get_logger(__name__)
# Closes the live band calibration replays when a champion arrives (and the dashboard shows).
REPLAYED = 240
HISTORY = FEATURES.warmup_candles + REPLAYED  # final candles kept per pair


class Unavailable(Exception):
    """The service cannot answer right now (503); the message says why."""


class LiveRuntime:
    def __init__(self, settings: Settings, topics: Topics | None = None) -> None:
        self.settings = settings
        self.topics = topics or Topics()
        self.horizon = timedelta(minutes=settings.horizon_minutes)
        self.candles: dict[str, PairCandles] = {}
        self.latest: dict[str, LatestFeatures] = {}
        self.forecasts = {pair: PairForecasts(self.horizon, REPLAYED) for pair in settings.pairs}
        self.warmed_up = False
        self.champion = ChampionWatcher(
            str(settings.mlflow_tracking_uri), settings.model_name, settings.champion_poll_seconds
        )
        self.prediction_log = PredictionLog(settings.kafka_bootstrap, self.topics.predictions)
        self.follower = TradeFollower(
            settings.kafka_bootstrap, self.topics.trades, self.on_trades, self.on_idle
        )
        self._thread = threading.Thread(target=self._live, name="live-features", daemon=True)

    def start(self) -> None:
        self.champion.start()
        self._thread.start()

    def stop(self) -> None:
        self.follower.stopped.set()
        self.champion.stop()
        self._thread.join(timeout=10)
        self.prediction_log.close()

    def ready(self) -> bool:
        return self.champion.current is not None and all(
            pair in self.latest for pair in self.settings.pairs
        )

    def _live(self) -> None:
        settings = self.settings
        warm = read_warm_start(
            settings.offline_store,
            self.topics.trades,
            settings.pairs,
            settings.candle_seconds,
            HISTORY,
            stopped=self.follower.stopped.is_set,
        )
        for pair in settings.pairs:
            self.candles[pair] = PairCandles(
                pair,
                settings.candle_seconds,
                HISTORY,
                warm.final_candles.get(pair),
                warm.open_trades.get(pair),
            )
            self._replay(pair)
        self.warmed_up = True  # requests before this are told the service is warming up
        log.info(
            "warmed up from the offline store",
            candles={p: len(c.final) for p, c in self.candles.items()},
            offsets=warm.offsets,
        )
        self.follower.follow(dict(warm.offsets))

    def on_trades(self, trades: pd.DataFrame) -> None:
        """New trades (one poll at the head, a whole backlog behind it): the candles that
        close and, at each close, the features and the champion's forecast, in one pass."""
        model = self.champion.current
        for name, group in trades.groupby("pair", sort=False):
            pair = str(name)
            candles = self.candles.get(pair)
            if candles is None:
                continue
            if model is not None and self.forecasts[pair].version != model.version:
                self._replay(pair)  # a new champion: from the history we had
            before = candles.candles().tail(FEATURES.warmup_candles)
            closed = candles.add(group)
            if len(closed):
                self._on_closes(pair, pd.concat([before, closed], ignore_index=True), model)

    def on_idle(self) -> None:
        """Between trades: a champion that arrived meanwhile gets its forecasts and live
        calibration replayed over the kept history."""
        model = self.champion.current
        if model is None:
            return
        for pair, forecasts in self.forecasts.items():
            if forecasts.version != model.version and pair in self.candles:
                self._replay(pair)

    def _replay(self, pair: str) -> None:
        """Features at every kept close in one pass; the champion's forecasts over them."""
        points = features_at_closes(
            pair, self.candles[pair].candles(), self.settings.candle_seconds
        )
        newest = self.candles[pair].final[-1][0] if self.candles[pair].final else None
        if points and points[-1].window_start == newest:
            self.latest[pair] = points[-1]
        else:
            self.latest.pop(pair, None)  # within a warm-up: no features yet
        model = self.champion.current
        if model is not None:
            self.forecasts[pair].rebuild(model, points)

    def _on_closes(self, pair: str, candles: pd.DataFrame, model: ServedModel | None) -> None:
        """The features (and forecasts) at every close of `candles` past the warm-up window
        they start with: the candles that just closed."""
        points = features_at_closes(pair, candles, self.settings.candle_seconds)
        newest = candles["window_start"].iloc[-1]
        if points and points[-1].window_start == newest:
            self.latest[pair] = points[-1]
        else:
            self.latest.pop(pair, None)  # within a warm-up after a hole
        if model is not None:
            self.forecasts[pair].on_closes(model, points)

    def forecast(self, pair: str) -> tuple[ServedModel, Forecast]:
        """The served champion and its forecast from the newest closed candle.

        Raises KeyError for a pair not served, Unavailable when no answer is possible."""
        if pair not in self.settings.pairs:
            raise KeyError(pair)
        if not self.warmed_up:
            raise Unavailable("warming up from the offline store")
        features = self.latest.get(pair)
        if features is None:
            have = len(self.candles[pair].final) if pair in self.candles else 0
            raise Unavailable(
                f"not enough live history for {pair} yet: {have} of "
                f"{FEATURES.warmup_candles + 1} final candles"
            )
        age = (datetime.now(UTC) - features.as_of.replace(tzinfo=UTC)).total_seconds()
        limit = self.settings.max_feature_age_seconds
        if age > limit:
            behind = int(age // self.settings.candle_seconds)
            raise Unavailable(
                f"features for {pair} are stale ({behind} candles behind): the newest closed "
                f"candle ended {age:.0f} s ago (limit {limit:.0f} s, BTC_MAX_FEATURE_AGE_SECONDS)"
            )
        model = self.champion.current
        if model is None:
            raise Unavailable(self.champion.problem or "no champion model loaded")
        return model, self.forecasts[pair].latest(model, features)

    def client_forecast(self, model: ServedModel, features: LatestFeatures) -> Forecast:
        """The champion's forecast from a client's candles, its band scaled by the live
        calibration of the pair (as the live answer is)."""
        forecasts = self.forecasts.get(features.pair)
        live = forecasts is not None and forecasts.version == model.version
        scale = forecasts.calibration.factor if live else 1.0
        return Forecast(features, widen(model.quantiles(features.values), scale), scale)

    def calibrations(self, model: ServedModel) -> dict[str, BandCalibration]:
        """The live band calibration of each pair the champion forecasts."""
        return {
            pair: forecasts.calibration
            for pair, forecasts in self.forecasts.items()
            if forecasts.version == model.version
        }

    def predict(self, pair: str) -> Prediction:
        model, forecast = self.forecast(pair)
        answer = prediction(model, forecast, self.settings.horizon_minutes)
        record = logged_record(answer, model, forecast, self.horizon_candles)
        self.prediction_log.publish(record | {"origin": "live"})
        return answer

    @property
    def horizon_candles(self) -> int:
        return int(self.horizon.total_seconds()) // self.settings.candle_seconds
