"""The model registry: versions, the `champion` alias the service follows, and rollback.

Promoting moves `champion` to the new version and `previous-champion` to the one it
replaces, so a rollback is one alias swap (`btc-platform model rollback`).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from mlflow.entities.model_registry import ModelVersion
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from btc_platform.tracking.forecaster_model import load_forecaster
from btc_platform.training.forecaster import QuantileForecaster

CHAMPION = "champion"
PREVIOUS = "previous-champion"
MS_PER_HOUR = 3_600_000


def age_hours(version: ModelVersion) -> float:
    """Hours since the version was registered."""
    return (time.time() * 1000 - version.creation_timestamp) / MS_PER_HOUR


def trained_until(tags: dict[str, str]) -> datetime | None:
    """A version's `trained_until` tag (when its last training target was realized) as naive
    UTC; None when it has none (an older version) or it does not parse."""
    try:
        until = datetime.fromisoformat(tags["trained_until"])
    except (KeyError, ValueError):
        return None
    return until.astimezone(UTC).replace(tzinfo=None) if until.tzinfo else until


# what the registry answers for a model or alias that does not exist
NOT_FOUND = {"RESOURCE_DOES_NOT_EXIST", "INVALID_PARAMETER_VALUE"}


class Registry:
    def __init__(self, model_name: str) -> None:
        self.model_name = model_name
        self.client = MlflowClient()

    def by_alias(self, alias: str) -> ModelVersion | None:
        """The version with `alias`; None when the model or the alias does not exist. An
        unreachable or failing registry raises (it is not the same as no champion)."""
        try:
            return self.client.get_model_version_by_alias(self.model_name, alias)
        except MlflowException as error:
            if error.error_code in NOT_FOUND:  # no such model, or no version has the alias
                return None
            raise

    def champion(self) -> ModelVersion | None:
        return self.by_alias(CHAMPION)

    def load(self, version: str) -> QuantileForecaster:
        return load_forecaster(f"models:/{self.model_name}/{version}")

    def tag(self, version: str, tags: dict[str, str]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(self.model_name, version, key, value)

    def promote(self, version: str) -> str | None:
        """Make `version` the champion; returns the version it replaced, if any."""
        current = self.champion()
        previous = str(current.version) if current is not None else None
        if previous == version:
            return None
        if previous is not None:
            self.client.set_registered_model_alias(self.model_name, PREVIOUS, previous)
        self.client.set_registered_model_alias(self.model_name, CHAMPION, version)
        return previous

    def rollback(self) -> str:
        """Swap `champion` and `previous-champion`; returns the champion's version after it."""
        previous = self.by_alias(PREVIOUS)
        if previous is None:
            raise LookupError(f"{self.model_name} has no {PREVIOUS} to roll back to")
        self.promote(str(previous.version))
        return str(previous.version)
