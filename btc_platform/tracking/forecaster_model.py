"""A Forecaster (or the baseline rule) as an MLflow model (the pyfunc flavor), and back.

`mlflow.pyfunc.load_model("models:/btc-price@champion").predict(features)` answers p10, p50
and p90 of the forward log return for rows of the feature set's columns (needs this package
installed). The folder the Forecaster saves to is the model's one artifact.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import mlflow
import pandas as pd
from mlflow.models import infer_signature
from mlflow.models.model import ModelInfo

from btc_platform.training.baseline_rule import BaselineRule, is_rule_folder
from btc_platform.training.forecaster import Forecaster, QuantileForecaster
from btc_platform.training.metrics import QUANTILES

ARTIFACT = "forecaster"
OUTPUT_COLUMNS = [f"p{round(q * 100)}" for q in QUANTILES]


class ForecasterModel(mlflow.pyfunc.PythonModel):
    """MLflow's view of a Forecaster or of the baseline rule."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        folder = Path(context.artifacts[ARTIFACT])
        self.forecaster: QuantileForecaster = (
            BaselineRule.load(folder) if is_rule_folder(folder) else Forecaster.load(folder)
        )

    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict | None = None,
    ) -> pd.DataFrame:
        return pd.DataFrame(self.forecaster.predict(model_input), columns=OUTPUT_COLUMNS)


def log_forecaster(
    forecaster: QuantileForecaster,
    example: pd.DataFrame,
    requirements: list[str],
    metadata: dict[str, object],
) -> ModelInfo:
    """Log it as the active run's model `model`, with a signature and an input example."""
    output = pd.DataFrame(forecaster.predict(example), columns=OUTPUT_COLUMNS)
    with tempfile.TemporaryDirectory() as folder:
        saved = Path(folder) / ARTIFACT
        forecaster.save(saved)
        return mlflow.pyfunc.log_model(
            name="model",
            python_model=ForecasterModel(),
            artifacts={ARTIFACT: str(saved)},
            signature=infer_signature(example, output),
            input_example=example,
            pip_requirements=requirements,
            metadata=metadata,
        )


def load_forecaster(model_uri: str) -> QuantileForecaster:
    loaded = mlflow.pyfunc.load_model(model_uri)
    return loaded.unwrap_python_model().forecaster
