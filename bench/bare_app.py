"""The reference for bench/serve.py: a bare FastAPI app serving the same XGBoost model
(MODEL_URI) on a fixed feature row, with the same answer shape, nothing else."""

from __future__ import annotations

import math
import os

import mlflow
import numpy as np
from fastapi import FastAPI
from pydantic import BaseModel

from btc_platform.features.compute import FEATURES

booster = mlflow.xgboost.load_model(os.environ["MODEL_URI"]).get_booster()
row = np.full((1, len(FEATURES.columns)), 0.5)
app = FastAPI()


class Request(BaseModel):
    pair: str


@app.post("/predict")
def predict(request: Request) -> dict:
    low, median, high = np.sort(booster.inplace_predict(row).reshape(-1)) / 1e4
    price = 60_000.0
    return {
        "pair": request.pair,
        "predicted_return": float(median),
        "predicted_price": price * math.exp(median),
        "band_low": price * math.exp(low),
        "band_high": price * math.exp(high),
    }
