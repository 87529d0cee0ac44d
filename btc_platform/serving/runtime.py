"""The live side of the service: warm-up, the trade follower, candles, features, champions.

One background thread warms up from the offline store and then follows Kafka; each batch
of trades updates the pairs' candles, and every candle that closes recomputes the pair's
features and, for each of its horizons, that (pair, horizon)'s champion's calibrated
forecast (once per candle, never per request). Requests only read: the newest features and
the forecast prepared for them.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd

from btc_platform.broker.topics import Topics
from btc_platform.features.compute import FEATURES
from btc_platform.logs import get_logger
from btc_platform.pair_horizon import PairHorizon
from btc_platform.runtime import freeze_long_lived_objects
from btc_platform.serving.api_models import Prediction
from btc_platform.serving.background import BackgroundTask
from btc_platform.serving.champion import ChampionBoard, ServedModel
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
HISTORY_NEEDED = FEATURES.warmup_candles + 1  # final candles before a first answer


class Unavailable(Exception):
    """The service cannot answer right now (503); the message says why."""


class NotServed(ValueError):
    """A pair or horizon this service does not serve (400); the message names the served."""


class LiveRuntime:
    def __init__(self, settings: Settings, topics: Topics | None = None) -> None:
        self.settings = settings
        self.topics = topics or Topics()
        self.targets = settings.pair_horizons
        self.candles: dict[str, PairCandles] = {}
        self.latest: dict[str, LatestFeatures] = {}
        self.forecasts = {
            t: PairForecasts(timedelta(minutes=t.horizon_minutes), REPLAYED) for t in self.targets
        }
        self.warmed_up = False
        self.champions = ChampionBoard(
            str(settings.mlflow_tracking_uri),
            {t: settings.model_name_of(t) for t in self.targets},
            settings.champion_poll_seconds,
        )
        self.prediction_log = PredictionLog(settings.kafka_bootstrap, self.topics.predictions)
        self.follower = TradeFollower(
            settings.kafka_bootstrap, self.topics.trades, self.on_trades, self.on_idle
        )
        self.live = BackgroundTask("live-features", self._live, stopped=self.follower.stopped)

    @property
    def tasks(self) -> list[BackgroundTask]:
        return [self.live, self.champions.task]

    def start(self) -> None:
        self.champions.start()
        self.live.start()

    def stop(self) -> None:
        self.champions.stop()
        self.live.stop(timeout=10)
        self.prediction_log.close()

    def not_ready_reason(self) -> str | None:
        """Why no (pair, horizon) can answer (None: at least one can), the reason that
        matters first: a failing live state, the warm-up, then each target's own."""
        if self.live.failure is not None:
            return self.live.failure.describe()
        if not self.warmed_up:
            return "warming up from the offline store"
        reasons = []
        for target in self.targets:
            if self.champions.current(target) is None:
                reasons.append(self.champions[target].problem or f"{target}: no champion loaded")
            elif target.pair not in self.latest:
                reasons.append(self._history_problem(target.pair))
            else:
                return None
        return "; ".join(reasons)

    def _history_problem(self, pair: str) -> str:
        have, need = len(self.candles[pair].final) if pair in self.candles else 0, HISTORY_NEEDED
        if have < need:
            return f"not enough live history for {pair} yet: {have} of {need} final candles"
        return (
            f"the newest candles of {pair} follow a hole or an outage: the features need "
            f"{need} consecutive final candles after it"
        )

    def target(self, pair: str, horizon_minutes: int | None = None) -> PairHorizon:
        """The served (pair, horizon) asked for (the first horizon by default)."""
        settings = self.settings
        if pair not in settings.pairs:
            raise NotServed(f"pair: {pair} is not served (BTC_PAIRS: {', '.join(settings.pairs)})")
        target = PairHorizon(pair, horizon_minutes or settings.default_horizon)
        if target not in self.forecasts:
            served = ", ".join(str(h) for h in settings.horizons or [])
            raise NotServed(
                f"horizon_minutes: {horizon_minutes} is not served (BTC_HORIZONS: {served})"
            )
        return target

    def of_pair(self, pair: str) -> list[PairHorizon]:
        return [t for t in self.targets if t.pair == pair]

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
            self._replay(pair, self.of_pair(pair))
        self.warmed_up = True  # requests before this are told the service is warming up
        self.live.recovered()  # a restart after a failure warmed up again
        freeze_long_lived_objects()  # the history just read: out of later collections
        log.info(
            "warmed up from the offline store",
            candles={p: len(c.final) for p, c in self.candles.items()},
            offsets=warm.offsets,
        )
        self.follower.follow(dict(warm.offsets))

    def _models(self, pair: str) -> dict[PairHorizon, ServedModel]:
        """The pair's champions being served now, by (pair, horizon)."""
        current = {t: self.champions.current(t) for t in self.of_pair(pair)}
        return {t: model for t, model in current.items() if model is not None}

    def _new_champions(self, models: dict[PairHorizon, ServedModel]) -> list[PairHorizon]:
        return [t for t, model in models.items() if self.forecasts[t].version != model.version]

    def on_trades(self, trades: pd.DataFrame) -> None:
        """New trades (one poll at the head, a whole backlog behind it): the candles that
        close and, at each close, the features and each champion's forecast, in one pass."""
        for name, group in trades.groupby("pair", sort=False):
            pair = str(name)
            candles = self.candles.get(pair)
            if candles is None:
                continue
            models = self._models(pair)
            if arrived := self._new_champions(models):
                self._replay(pair, arrived)  # new champions: from the history we had
            before = candles.candles().tail(FEATURES.warmup_candles)
            closed = candles.add(group)
            if len(closed):
                self._on_closes(pair, pd.concat([before, closed], ignore_index=True), models)

    def on_idle(self) -> None:
        """Between trades: champions that arrived meanwhile get their forecasts and live
        calibration replayed over the kept history."""
        for pair in self.candles:
            if arrived := self._new_champions(self._models(pair)):
                self._replay(pair, arrived)

    def _replay(self, pair: str, targets: list[PairHorizon]) -> None:
        """Features at every kept close in one pass; the champions' forecasts over them."""
        points = features_at_closes(
            pair, self.candles[pair].candles(), self.settings.candle_seconds
        )
        newest = self.candles[pair].final[-1][0] if self.candles[pair].final else None
        if points and points[-1].window_start == newest:
            self.latest[pair] = points[-1]
        else:
            self.latest.pop(pair, None)  # within a warm-up: no features yet
        for target in targets:
            if (model := self.champions.current(target)) is not None:
                self.forecasts[target].rebuild(model, points)

    def _on_closes(
        self, pair: str, candles: pd.DataFrame, models: dict[PairHorizon, ServedModel]
    ) -> None:
        """The features (and forecasts) at every close of `candles` past the warm-up window
        they start with: the candles that just closed."""
        points = features_at_closes(pair, candles, self.settings.candle_seconds)
        newest = candles["window_start"].iloc[-1]
        if points and points[-1].window_start == newest:
            self.latest[pair] = points[-1]
        else:
            self.latest.pop(pair, None)  # within a warm-up after a hole
        for target, model in models.items():
            self.forecasts[target].on_closes(model, points)

    def forecast(self, target: PairHorizon) -> tuple[ServedModel, Forecast]:
        """The (pair, horizon)'s champion and its forecast from the newest closed candle.

        Raises Unavailable when no answer is possible."""
        pair = target.pair
        if self.live.failure is not None:
            raise Unavailable(self.live.failure.describe())
        model = self.champions.current(target)
        if model is None:  # the reason that matters first: no history helps without a model
            raise Unavailable(self.champions[target].problem or f"{target}: no champion loaded")
        if not self.warmed_up:
            raise Unavailable("warming up from the offline store")
        features = self.latest.get(pair)
        if features is None:
            raise Unavailable(self._history_problem(pair))
        age = (datetime.now(UTC) - features.as_of.replace(tzinfo=UTC)).total_seconds()
        limit = self.settings.max_feature_age_seconds
        if age > limit:
            behind = int(age // self.settings.candle_seconds)
            raise Unavailable(
                f"features for {pair} are stale ({behind} candles behind): the newest closed "
                f"candle ended {age:.0f} s ago (limit {limit:.0f} s, BTC_MAX_FEATURE_AGE_SECONDS)"
            )
        return model, self.forecasts[target].latest(model, features)

    def client_forecast(
        self, target: PairHorizon, model: ServedModel, features: LatestFeatures
    ) -> Forecast:
        """The champion's forecast from a client's candles, its band scaled by the live
        calibration of the (pair, horizon) (as the live answer is)."""
        forecasts = self.forecasts[target]
        scale = forecasts.calibration.factor if forecasts.version == model.version else 1.0
        return Forecast(features, widen(model.quantiles(features.values), scale), scale)

    def calibration(self, target: PairHorizon) -> BandCalibration | None:
        """The live band calibration of the (pair, horizon)'s served champion."""
        model, forecasts = self.champions.current(target), self.forecasts[target]
        return forecasts.calibration if model and forecasts.version == model.version else None

    def missing(self) -> dict[str, str]:
        """Every (pair, horizon) that cannot be served a champion, with the reason."""
        return {
            str(t): self.champions[t].problem or "no champion loaded"
            for t in self.targets
            if self.champions.current(t) is None
        }

    def predict(self, target: PairHorizon) -> Prediction:
        model, forecast = self.forecast(target)
        answer = prediction(model, forecast, target.horizon_minutes)
        self.log_answer(answer, model, forecast, "live")
        return answer

    def log_answer(
        self, answer: Prediction, model: ServedModel, forecast: Forecast, origin: str
    ) -> None:
        """Publish an answer to Kafka `predictions` for the accuracy loop."""
        candles = answer.horizon_minutes * 60 // self.settings.candle_seconds
        record = logged_record(answer, model, forecast, candles)
        self.prediction_log.publish(record | {"origin": origin})
