"""One MLflow parent run per training: trials as nested runs, then the result and the model.

The model is logged with the MLflow 3 API (`name=`), a signature and an input example, and
registered as a new version of the platform's model; the version's tags carry its feature
set, dataset lineage and holdout metrics, so the registry alone tells what it is.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

import matplotlib.pyplot as plt
import mlflow
from mlflow.exceptions import MlflowException
from mlflow.models.model import ModelInfo
from mlflow.tracking import MlflowClient

import btc_platform
from btc_platform.tracking import plots
from btc_platform.tracking.candidate import Candidate
from btc_platform.tracking.forecaster_model import log_forecaster
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import TrainingSet
from btc_platform.training.trainer import TrainedModel
from btc_platform.training.tuning import Trial, best_trial

EXAMPLE_ROWS = 5
MODEL_OUTPUT = "p10, p50, p90 of the forward log return"


def code_version() -> str:
    """The package version and, in a git checkout, the commit."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=Path(btc_platform.__file__).parent,
            capture_output=True,
            text=True,
            timeout=5,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        commit = "unknown"
    return f"{btc_platform.__version__}+{commit}"


def serving_requirements() -> list[str]:
    """What loading the model needs besides this package (given, so MLflow need not infer
    it: slow and noisy)."""
    return [
        f"{name}=={metadata.version(name)}" for name in ("mlflow", "xgboost", "numpy", "pandas")
    ]


def register(model_name: str, info: ModelInfo, run_id: str, tags: dict[str, str]) -> str:
    """A new version of `model_name` (created on first use) with `tags`; its number."""
    client = MlflowClient()
    try:
        client.create_registered_model(
            model_name, description="BTC forward log-return quantiles (p10, p50, p90)."
        )
    except MlflowException as error:
        if error.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    created = client.create_model_version(
        model_name, info.model_uri, run_id=run_id, tags=tags, model_id=info.model_id
    )
    return str(created.version)


class TrainingRun:
    def __init__(
        self, experiment_id: str, dataset: TrainingSet, config: TrainingConfig, code: str
    ) -> None:
        self.experiment_id = experiment_id
        self.dataset = dataset
        self.config = config
        self.code_version = code

    def log_trial(self, trial: Trial) -> None:
        with mlflow.start_run(
            experiment_id=self.experiment_id, run_name=f"trial-{trial.number:03d}", nested=True
        ):
            mlflow.log_params(trial.params)
            mlflow.log_metrics(
                {"cv_pinball_loss": trial.cv_pinball_loss, "seconds": trial.seconds}
                | {"pruned": float(trial.pruned)}
                | {f"fold_{i}_pinball_loss": loss for i, loss in enumerate(trial.fold_losses)}
            )

    def log_result(self, trained: TrainedModel, model_name: str) -> Candidate:
        dataset, frame = self.dataset, self.dataset.frame
        best = best_trial(trained.trials)
        mlflow.log_params({f"best_{k}": v for k, v in trained.params.items()})
        mlflow.log_metrics(
            trained.evaluation.metrics() | {"best_cv_pinball_loss": best.cv_pinball_loss}
        )
        mlflow.set_tags(
            {
                "verdict": trained.evaluation.verdict(),
                "median_guard": trained.median_guard.describe(),
            }
        )
        holdout = frame.iloc[trained.holdout.test]
        actual = holdout["target"].to_numpy()
        for figure, name in (
            (
                plots.predicted_vs_actual(actual, trained.holdout_forecast),
                "predicted_vs_actual.png",
            ),
            (
                plots.band_coverage(holdout["window_start"], actual, trained.holdout_forecast),
                "band_coverage.png",
            ),
            (plots.feature_importance(trained.forecaster), "feature_importance.png"),
        ):
            mlflow.log_figure(figure, f"plots/{name}")
            plt.close(figure)
        example = holdout[list(trained.forecaster.columns)].head(EXAMPLE_ROWS)
        info = log_forecaster(
            trained.forecaster,
            example,
            serving_requirements(),
            metadata={"output": MODEL_OUTPUT, "feature_set": dataset.feature_set.as_dict()},
        )
        window = holdout["window_start"]
        tags = (
            dataset.lineage.as_tags()
            | {f"metric.{k}": f"{v:.6g}" for k, v in trained.evaluation.metrics().items()}
            | {
                "feature_set": dataset.feature_set.key,
                "holdout.start": str(window.iloc[0]),
                "holdout.end": str(window.iloc[-1]),
                "holdout.rows": str(len(window)),
                "verdict": trained.evaluation.verdict(),
                "code_version": self.code_version,
                "median_guard": trained.median_guard.describe(),
                "median_shrink": str(trained.forecaster.median_shrink),
                "trained_until": trained.trained_until.isoformat(),
                "baseline.strongest": trained.evaluation.strongest,
                **{
                    f"baseline.{name}_z{level}": f"{z:.6g}"
                    for name, band in trained.z_bands.items()
                    for level, z in zip((10, 90), band, strict=True)
                },
            }
        )
        run_id = mlflow.active_run().info.run_id
        version = register(model_name, info, run_id, tags)
        return Candidate(
            model_name,
            version,
            run_id,
            trained.evaluation,
            trained.holdout,
            trained.median_guard.describe(),
            trained.holdout_forecast,
            trained.trained_until,
        )


@contextmanager
def training_run(
    experiment_id: str, dataset: TrainingSet, config: TrainingConfig
) -> Iterator[TrainingRun]:
    """The parent run, with the dataset, feature set, search space and settings logged."""
    lineage, code = dataset.lineage, code_version()
    with mlflow.start_run(experiment_id=experiment_id, run_name=f"train-{lineage.last_window}"):
        mlflow.set_tags(
            lineage.as_tags() | {"feature_set": dataset.feature_set.key, "code_version": code}
        )
        mlflow.log_params(
            {
                "trials": config.trials,
                "cv_folds": config.cv_folds,
                "holdout_fraction": config.holdout_fraction,
                "seed": config.seed,
                "feature_set": dataset.feature_set.key,
            }
        )
        mlflow.log_dict(dataset.feature_set.as_dict(), "feature_set.json")
        mlflow.log_dict(config.space.as_dict(), "search_space.json")
        mlflow.log_input(
            mlflow.data.from_pandas(
                dataset.frame,
                name=f"{lineage.pair} {lineage.interval_seconds}s features",
                targets="target",
                digest=lineage.content_hash,
            ),
            context="training",
        )
        yield TrainingRun(experiment_id, dataset, config, code)
