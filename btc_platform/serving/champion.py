"""Follows each (pair, horizon)'s `champion` alias and swaps its served model without a
restart, independently of the others.

A current model is one reference, replaced whole: a request sees the old model or the new
one, never a mix. A new champion that fails to load leaves the old one serving; the failure
is logged and reported (`/model`, readiness stays as it was).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

from btc_platform.features.compute import FEATURES
from btc_platform.logs import get_logger
from btc_platform.pair_horizon import PairHorizon
from btc_platform.redaction import hide_credentials
from btc_platform.runtime import freeze_long_lived_objects
from btc_platform.serving.background import BackgroundTask
from btc_platform.tracking.mlflow_setup import use_tracking
from btc_platform.tracking.registry import Registry, trained_until
from btc_platform.training.baseline_rule import KIND, is_rule
from btc_platform.training.forecaster import BoundForecaster

log = get_logger(__name__)
# The board polls on its own schedule: MLflow's own HTTP retries (7, backing off for minutes)
# would only delay saying that the registry is unavailable. The user's settings win.
MLFLOW_HTTP_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "1", "MLFLOW_HTTP_REQUEST_TIMEOUT": "30"}


@dataclass(frozen=True, slots=True)
class ServedModel:
    name: str
    version: str
    forecaster: BoundForecaster  # reads vectors in FEATURES.columns order
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def feature_set(self) -> str:
        return self.forecaster.forecaster.feature_set

    @property
    def trained_until(self) -> datetime | None:
        """When its last training target was realized (naive UTC); None when unknown."""
        return trained_until(self.tags)

    @property
    def answered_by(self) -> str:
        """`model`, or the rule's kind when the EWMA-blend rule is the champion."""
        return KIND if is_rule(self.tags) else "model"

    def quantiles(self, values: np.ndarray) -> np.ndarray:
        """p10, p50, p90 of the forward log return for one row of FEATURES.columns values."""
        return self.forecaster.quantiles(values)

    def quantiles_many(self, values: np.ndarray) -> np.ndarray:
        """(rows, 3) for rows of FEATURES.columns values."""
        return self.forecaster.quantiles_many(values)


def load_served_model(registry: Registry, version: str, tags: dict[str, str]) -> ServedModel:
    forecaster = registry.load(version)
    try:
        bound = forecaster.bind(FEATURES.columns)
    except ValueError as error:
        raise ValueError(f"v{version} cannot be served here: {error}") from None
    return ServedModel(registry.model_name, version, bound, tags)


class ChampionWatcher:
    """One registered model's champion."""

    def __init__(self, tracking_uri: str, model_name: str) -> None:
        self.tracking_uri = tracking_uri
        self.model_name = model_name
        self.current: ServedModel | None = None
        self.problem: str | None = f"{model_name}: no champion loaded yet"

    def refresh(self) -> None:
        """Load the champion if the alias moved; keep the current model on any failure."""
        use_tracking(self.tracking_uri)
        registry = Registry(self.model_name)
        try:
            champion = registry.champion()
        except Exception as error:  # the registry unreachable: keep serving what we have
            reason = hide_credentials(str(error))
            self.problem = f"{self.model_name}: registry unavailable: {reason}"
            log.warning("champion check failed", model=self.model_name, error=str(error))
            return
        if champion is None:
            if self.current is None:
                self.problem = f"{self.model_name} has no champion yet"
            return
        version = str(champion.version)
        if self.current is not None and self.current.version == version:
            self.problem = None  # e.g. the registry is reachable again
            return
        try:
            loaded = load_served_model(registry, version, dict(champion.tags))
        except Exception as error:
            reason = hide_credentials(str(error))
            self.problem = f"{self.model_name}: champion v{version} failed to load: {reason}"
            log.error(
                "new champion failed to load; serving the previous one",
                model=self.model_name,
                version=version,
                serving=self.current.version if self.current else None,
                error=str(error),
            )
            return
        previous, self.current, self.problem = self.current, loaded, None
        freeze_long_lived_objects()  # the model and what loading it imported
        log.info(
            "champion loaded",
            model=self.model_name,
            version=version,
            replaced=previous.version if previous else None,
        )


class ChampionBoard:
    """The champion of every served (pair, horizon), refreshed by one thread."""

    def __init__(
        self, tracking_uri: str, names: dict[PairHorizon, str], poll_seconds: float
    ) -> None:
        self.watchers = {target: ChampionWatcher(tracking_uri, n) for target, n in names.items()}
        self.task = BackgroundTask("champion-watcher", self.refresh, every=poll_seconds)

    def start(self) -> None:
        for name, default in MLFLOW_HTTP_DEFAULTS.items():
            os.environ.setdefault(name, default)
        self.task.start()

    def stop(self) -> None:
        self.task.stop()

    def __getitem__(self, target: PairHorizon) -> ChampionWatcher:
        return self.watchers[target]

    def current(self, target: PairHorizon) -> ServedModel | None:
        return self.watchers[target].current

    def refresh(self) -> None:
        for watcher in self.watchers.values():
            watcher.refresh()
