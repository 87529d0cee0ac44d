"""The service's own Prometheus metrics, beside BentoML's HTTP ones on its /metrics.

    btc_predictions_total{pair,horizon_minutes,model_version,origin}  answers served
    btc_feature_age_seconds{pair}            age of the newest closed candle's features
                                             (+Inf: none yet)
    btc_follower_lag_messages                trades in Kafka not read yet
    btc_follower_lag_seconds                 behind the end: age of the newest record read
    btc_champion_version{pair,horizon_minutes,model_name}  served version (0: none)
    btc_champion_problem{pair,horizon_minutes}  1 while there is a problem: no champion yet,
                                             the registry unreachable, a new one failed to load
    btc_live_band_coverage{pair,horizon_minutes}  share of recent outcomes inside the band
    btc_live_mae_skill{pair,horizon_minutes}  recent p50 MAE skill vs zero return
    btc_live_outcomes{pair,horizon_minutes}   outcomes those two are over
    btc_band_scale{pair,horizon_minutes}      the live calibration's band factor
    btc_price{pair}                          close of the newest final candle
    btc_forecast_price{pair,horizon_minutes,quantile}  the champion's p10/p50/p90 price from
                                             that close (`offset <horizon>m` lines it up
                                             with the price it forecast)
    btc_background_failures_total{task}      failures of a background task (each restarted)
    btc_background_failing{task}             1 while a background task is failing

Gauges are refreshed by one thread every few seconds. prometheus_client is imported only
when the metrics are made: BentoML sets its multiprocess directory in the worker after
importing the service module, and a client imported earlier would never write there.
"""

from __future__ import annotations

import math
import time
from datetime import UTC
from typing import Any

from btc_platform.serving.api_models import Prediction
from btc_platform.serving.background import BackgroundTask
from btc_platform.serving.dashboard import live_view
from btc_platform.serving.runtime import LiveRuntime

REFRESH_SECONDS = 5.0
TARGET = ["pair", "horizon_minutes"]


class ServiceMetrics:
    def __init__(
        self,
        runtime: LiveRuntime,
        registry: Any = None,
        every: float = REFRESH_SECONDS,
    ) -> None:
        import prometheus_client as prom  # here, not at the top: see the module docstring

        where = {"registry": registry} if registry is not None else {}

        def gauge(name: str, help_text: str, labels: list[str] | None = None) -> Any:
            return prom.Gauge(
                name, help_text, labels or [], multiprocess_mode="livemostrecent", **where
            )

        self.runtime = runtime
        self.predictions = prom.Counter(
            "btc_predictions",
            "Predictions answered.",
            ["pair", "horizon_minutes", "model_version", "origin"],
            **where,
        )
        self.feature_age = gauge(
            "btc_feature_age_seconds", "Age of the newest features (+Inf: none yet).", ["pair"]
        )
        self.lag_messages = gauge("btc_follower_lag_messages", "Trades in Kafka not read yet.")
        self.lag_seconds = gauge(
            "btc_follower_lag_seconds", "Behind the topic's end: age of the newest record read."
        )
        self.champion_version = gauge(
            "btc_champion_version", "Served champion version (0: none).", [*TARGET, "model_name"]
        )
        self.champion_problem = gauge(
            "btc_champion_problem", "1 while /model reports a problem with the champion.", TARGET
        )
        self.coverage = gauge(
            "btc_live_band_coverage", "Share of recent outcomes inside the p10-p90 band.", TARGET
        )
        self.skill = gauge("btc_live_mae_skill", "Recent p50 MAE skill vs zero return.", TARGET)
        self.outcomes = gauge("btc_live_outcomes", "Recent outcomes scored.", TARGET)
        self.band_scale = gauge("btc_band_scale", "The live calibration's band factor.", TARGET)
        self.price = gauge("btc_price", "Close of the newest final candle.", ["pair"])
        self.forecast = gauge(
            "btc_forecast_price",
            "The champion's forecast price from the newest close, by quantile.",
            [*TARGET, "quantile"],
        )
        self.background_failures = prom.Counter(
            "btc_background_failures",
            "Failures of a background task of the service (each restarted).",
            ["task"],
            **where,
        )
        self.background_failing = gauge(
            "btc_background_failing", "1 while a background task is failing.", ["task"]
        )
        self.task = BackgroundTask("service-metrics", self.refresh, every=every)
        self._counted: dict[str, int] = {}

    @property
    def tasks(self) -> list[BackgroundTask]:
        """Every background task of the service (the runtime's and this one)."""
        return [*self.runtime.tasks, self.task]

    def start(self) -> None:
        self.task.start()

    def stop(self) -> None:
        self.task.stop()

    def answered(self, answer: Prediction, origin: str) -> None:
        self.predictions.labels(
            answer.pair, answer.horizon_minutes, answer.model_version, origin
        ).inc()

    def _count_failures(self) -> None:
        for task in self.tasks:
            new = task.failures_total - self._counted.get(task.name, 0)
            if new:
                self.background_failures.labels(task.name).inc(new)
            self._counted[task.name] = task.failures_total
            self.background_failing.labels(task.name).set(1 if task.failure else 0)

    def refresh(self) -> None:
        self._count_failures()
        runtime = self.runtime
        now = time.time()
        for pair in runtime.settings.pairs:
            features = runtime.latest.get(pair)
            age = now - features.as_of.replace(tzinfo=UTC).timestamp() if features else math.inf
            self.feature_age.labels(pair).set(age)
        lag = runtime.follower.lag
        if lag.messages is not None:
            self.lag_messages.set(lag.messages)
        self.lag_seconds.set(lag.seconds(int(now * 1000)))
        interval = runtime.settings.candle_seconds
        for target in runtime.targets:
            labels = (target.pair, target.horizon_minutes)
            watcher = runtime.champions[target]
            model = watcher.current
            self.champion_version.labels(*labels, runtime.champions[target].model_name).set(
                int(model.version) if model else 0
            )
            self.champion_problem.labels(*labels).set(1 if watcher.problem else 0)
            view = live_view(runtime, target)
            live = view.live_record(target.pair, interval) if view.prepared else {"outcomes": 0}
            self.outcomes.labels(*labels).set(live["outcomes"])
            self.coverage.labels(*labels).set(live.get("band_coverage", math.nan))
            self.skill.labels(*labels).set(live.get("mae_skill", math.nan))
            self.band_scale.labels(*labels).set(runtime.forecasts[target].calibration.factor)
            if len(view.candles):
                self.price.labels(target.pair).set(float(view.candles["close"].iloc[-1]))
            if view.answers:
                newest = view.answers[-1]
                quantiles = zip(
                    ("p10", "p50", "p90"),
                    (newest.band_low, newest.predicted_price, newest.band_high),
                    strict=True,
                )
                for quantile, price in quantiles:
                    self.forecast.labels(*labels, quantile).set(price)
