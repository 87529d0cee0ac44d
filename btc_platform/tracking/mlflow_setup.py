"""Points MLflow at the platform's tracking store and names its experiments."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from btc_platform.pair_horizon import PairHorizon
from btc_platform.settings import Settings
from btc_platform.training.dataset import Lineage

LOCAL_SCHEMES = ("sqlite:", "file:")


def use_tracking(tracking_uri: str) -> None:
    import mlflow  # heavy; this module is loaded with the Dagster code

    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)


def experiment_name(model_name: str, pair: str, interval_seconds: int, horizon: int) -> str:
    """One experiment per pair/interval/horizon setting, e.g. `btc-price/BTC-USD/60s/h5m`."""
    return f"{model_name}/{pair.replace('/', '-')}/{interval_seconds}s/h{horizon}m"


def ensure_experiment(tracking_uri: str, name: str, local_artifacts: Path) -> str:
    """The experiment's id, creating it; local stores keep artifacts under the data dir
    (MLflow would otherwise write `./mlruns` wherever the process happens to run)."""
    import mlflow

    use_tracking(tracking_uri)
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = (
        (local_artifacts / name.replace("/", "_")).as_uri()
        if tracking_uri.startswith(LOCAL_SCHEMES)
        else None
    )
    return mlflow.create_experiment(name, artifact_location=location)


@dataclass(frozen=True, slots=True)
class ModelStore:
    """Where models are tracked and registered (one registered model per pair and horizon,
    named from `model_prefix`: BTC_MODEL_NAME)."""

    tracking_uri: str
    local_artifacts: Path
    model_prefix: str

    @classmethod
    def of(cls, settings: Settings) -> ModelStore:
        return cls(
            str(settings.mlflow_tracking_uri), settings.mlflow_artifacts, settings.model_name
        )

    def experiment_for(self, lineage: Lineage) -> str:
        """The id of the experiment for the lineage's pair, interval and horizon."""
        name = experiment_name(
            self.model_prefix, lineage.pair, lineage.interval_seconds, lineage.horizon_minutes
        )
        return ensure_experiment(self.tracking_uri, name, self.local_artifacts)

    def model_name_for(self, lineage: Lineage) -> str:
        """The registered model of the lineage's pair and horizon."""
        return PairHorizon(lineage.pair, lineage.horizon_minutes).model_name(self.model_prefix)

    def activate(self) -> None:
        use_tracking(self.tracking_uri)
