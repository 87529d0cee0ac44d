"""The live side of the service: warm-up, the trade follower, candles, features, champion.

One background thread warms up from the offline store and then follows Kafka; each batch
of trades updates the pairs' candles, and every candle that closes recomputes the pair's
features (once per candle, never per request). Requests only read: the newest features,
the current model, and a prediction cached per (model version, candle).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import pandas as pd

from btc_platform.broker.topics import Topics
from btc_platform.features.indicators import FEATURES
from btc_platform.logs import get_logger
from btc_platform.serving.api_models import Prediction
from btc_platform.serving.champion import ChampionWatcher, ServedModel
from btc_platform.serving.forecast import prediction
from btc_platform.serving.live_candles import PairCandles
from btc_platform.serving.live_features import LatestFeatures, latest_features
from btc_platform.serving.prediction_log import PredictionLog
from btc_platform.serving.trade_follower import TradeFollower
from btc_platform.serving.warm_start import read_warm_start
from btc_platform.settings import Settings

log = get_logger(__name__)
HISTORY = FEATURES.warmup_candles + 60  # final candles kept per pair


class Unavailable(Exception):
    """The service cannot answer right now (503); the message says why."""


@dataclass(frozen=True, slots=True)
class Cached:
    version: str
    window_start: datetime
    quantiles: np.ndarray


class LiveRuntime:
    def __init__(self, settings: Settings, topics: Topics | None = None) -> None:
        self.settings = settings
        self.topics = topics or Topics()
        self.candles: dict[str, PairCandles] = {}
        self.latest: dict[str, LatestFeatures] = {}
        self._cache: dict[str, Cached] = {}
        self.warmed_up = False
        self.champion = ChampionWatcher(
            str(settings.mlflow_tracking_uri), settings.model_name, settings.champion_poll_seconds
        )
        self.prediction_log = PredictionLog(settings.kafka_bootstrap, self.topics.predictions)
        self.follower = TradeFollower(settings.kafka_bootstrap, self.topics.trades, self.on_trades)
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
            self._refresh_features(pair)
        self.warmed_up = True  # requests before this are told the service is warming up
        log.info(
            "warmed up from the offline store",
            candles={p: len(c.final) for p, c in self.candles.items()},
            offsets=warm.offsets,
        )
        self.follower.follow(dict(warm.offsets))

    def on_trades(self, trades: pd.DataFrame) -> None:
        for pair, group in trades.groupby("pair", sort=False):
            candles = self.candles.get(str(pair))
            if candles is not None and candles.add(group):
                self._refresh_features(str(pair))

    def _refresh_features(self, pair: str) -> None:
        features = latest_features(pair, self.candles[pair].candles(), self.settings.candle_seconds)
        if features is not None:
            self.latest[pair] = features
            model = self.champion.current
            if model is not None:  # have the answer ready before anyone asks
                self._quantiles(model, features)

    def _quantiles(self, model: ServedModel, features: LatestFeatures) -> np.ndarray:
        cached = self._cache.get(features.pair)
        if cached and (cached.version, cached.window_start) == (
            model.version,
            features.window_start,
        ):
            return cached.quantiles
        quantiles = model.quantiles(features.values)
        self._cache[features.pair] = Cached(model.version, features.window_start, quantiles)
        return quantiles

    def predict(self, pair: str) -> Prediction:
        """Raises KeyError for a pair not served, Unavailable when no answer is possible."""
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
            raise Unavailable(
                f"features for {pair} are stale: the newest closed candle ended {age:.0f} s "
                f"ago (limit {limit:.0f} s, BTC_MAX_FEATURE_AGE_SECONDS)"
            )
        model = self.champion.current
        if model is None:
            raise Unavailable(self.champion.problem or "no champion model loaded")
        answer = prediction(
            model, features, self._quantiles(model, features), self.settings.horizon_minutes
        )
        self.prediction_log.publish(answer)
        return answer
