"""The reference for bench/serve.py: a bare FastAPI app serving the same forecaster
(MODEL_NAME, MODEL_VERSION) on a fixed feature row, with the same answer shape, nothing else."""

from __future__ import annotations

import math
import os

import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

from btc_platform.features.compute import FEATURES
from btc_platform.tracking.mlflow_setup import use_tracking
from btc_platform.tracking.registry import Registry

use_tracking(os.environ["MLFLOW_TRACKING_URI"])
registry = Registry(os.environ["MODEL_NAME"])
forecaster = registry.load(os.environ["MODEL_VERSION"]).bind(FEATURES.columns)
row = np.full(len(FEATURES.columns), 0.5)
app = FastAPI()


class Request(BaseModel):
    pair: str


@app.post("/predict")
def predict(request: Request) -> dict:
    low, median, high = forecaster.quantiles(row)
    price = 60_000.0
    return {
        "pair": request.pair,
        "predicted_return": float(median),
        "predicted_price": price * math.exp(median),
        "band_low": price * math.exp(low),
        "band_high": price * math.exp(high),
    }
