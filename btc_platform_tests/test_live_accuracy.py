"""Live accuracy: predictions with known outcomes give the expected metrics, and the
`predictions` topic is drained into DuckDB once per id."""

from __future__ import annotations

import math
import uuid

import numpy as np
import orjson
import pandas as pd
import pytest
from kafka import KafkaProducer

from btc_platform.drain import drain
from btc_platform.store.prediction_store import write_predictions
from btc_platform.store.store_connection import open_store
from btc_platform.training.live_accuracy import live_metrics, outcomes
from btc_platform.training.metrics import pinball_loss

T0 = pd.Timestamp("2026-05-01 12:00")


def prediction(
    as_of: pd.Timestamp,
    version: str,
    predicted: float,
    low: float,
    high: float,
    price: float = 100.0,
    origin: str = "live",
) -> dict:
    return {
        "id": uuid.uuid4().hex,
        "pair": "BTC/USD",
        "as_of": as_of,
        "horizon_minutes": 5,
        "model_version": version,
        "current_price": price,
        "predicted_return": predicted,
        "band_low": low,
        "band_high": high,
        "band_scale": 1.1,
        "realized_vol": 0.001,
        "vol_baseline_low": -0.02,
        "vol_baseline_high": 0.02,
        "origin": origin,
    }


def test_known_outcomes_give_the_expected_live_metrics():
    # Candles closing at as_of + 5 min: window_start = as_of + 4 min.
    closes = pd.DataFrame(
        {
            "pair": "BTC/USD",
            "window_start": [T0 + pd.Timedelta(minutes=4 + i) for i in range(3)],
            "close": [101.0, 99.0, 100.5],
        }
    )
    answered = pd.DataFrame(
        [
            prediction(T0, "1", 0.01, 99.0, 102.0),
            prediction(T0, "1", 0.05, 90.0, 91.0),  # the same candle asked again: the first counts
            prediction(T0 + pd.Timedelta(minutes=1), "1", 0.0, 99.5, 100.5),
            prediction(T0 + pd.Timedelta(minutes=2), "2", 0.0, 100.0, 101.0),
            prediction(T0 + pd.Timedelta(minutes=9), "2", 0.0, 90.0, 110.0),  # horizon not passed
            # a client's own candles: not the live market, not scored
            prediction(T0 + pd.Timedelta(minutes=1), "2", 0.0, 50.0, 51.0, origin="candles"),
        ]
    )
    result = outcomes(answered, closes, 60)
    assert len(result) == 3
    r1, r2, r3 = math.log(1.01), math.log(0.99), math.log(1.005)
    np.testing.assert_allclose(result["realized_return"], [r1, r2, r3])
    np.testing.assert_allclose(result["p10"], np.log([0.99, 0.995, 1.0]))
    metrics = live_metrics(result, window=10).set_index("model_version")
    assert metrics.loc["1", "predictions"] == 2
    expected_mae = (abs(r1 - 0.01) + abs(r2)) / 2 * 1e4
    assert metrics.loc["1", "mae_bps"] == pytest.approx(expected_mae)
    assert metrics.loc["1", "mae_skill"] == pytest.approx(
        1 - expected_mae / ((abs(r1) + abs(r2)) / 2 * 1e4)
    )
    assert metrics.loc["1", "band_coverage"] == 0.5  # r2 fell below its band
    assert metrics.loc["1", "below_p10"] == 0.5
    assert metrics.loc["2", "mae_skill"] == pytest.approx(0.0)  # p50 = 0 is zero return
    # pinball against the volatility-scaled band logged with each answer (+-2%)
    forecasts = np.array([[np.log(0.99), 0.01, np.log(1.02)], [np.log(0.995), 0.0, np.log(1.005)]])
    baseline = np.array([[-0.02, 0.0, 0.02]] * 2)
    ours, theirs = (
        pinball_loss(np.array([r1, r2]), forecasts),
        pinball_loss(np.array([r1, r2]), baseline),
    )
    assert metrics.loc["1", "pinball_loss"] == pytest.approx(ours)
    assert metrics.loc["1", "band_skill_vs_vol_scaled"] == pytest.approx(1 - ours / theirs)
    assert metrics.loc["1", "band_scale"] == 1.1
    assert live_metrics(result, window=1).set_index("model_version").loc["1", "predictions"] == 1


def test_records_of_an_older_service_are_scored_without_the_new_numbers():
    old = {k: v for k, v in prediction(T0, "1", 0.0, 99.0, 102.0).items() if k in OLD_FIELDS}
    closes = pd.DataFrame({"pair": ["BTC/USD"], "window_start": [T0 + pd.Timedelta(minutes=4)]})
    closes["close"] = 101.0
    metrics = live_metrics(outcomes(pd.DataFrame([old]), closes, 60), window=10)
    assert metrics.loc[0, "band_coverage"] == 1.0
    assert np.isnan(metrics.loc[0, "band_skill_vs_vol_scaled"])


OLD_FIELDS = {
    "id",
    "pair",
    "as_of",
    "horizon_minutes",
    "model_version",
    "current_price",
    "predicted_return",
    "band_low",
    "band_high",
}


def test_the_predictions_topic_is_drained_once_per_id(broker, topics, tmp_path):
    producer = KafkaProducer(bootstrap_servers=broker.bootstrap)
    records = [prediction(T0 + pd.Timedelta(minutes=i), "3", 0.001, 99.0, 101.0) for i in range(5)]
    payloads = [orjson.dumps({**r, "as_of": r["as_of"].isoformat() + "Z"}) for r in records]
    for payload in [*payloads, payloads[0], b"{not json"]:
        producer.send(topics.predictions, payload)
    producer.flush()
    producer.close()
    store = tmp_path / "offline.duckdb"
    first = drain(broker.bootstrap, store, topics.predictions, 60, write=write_predictions)
    assert (first.messages, first.trades_added, first.invalid) == (7, 5, 1)
    again = drain(broker.bootstrap, store, topics.predictions, 60, write=write_predictions)
    assert again.messages == 0
    with open_store(store) as connection:
        stored = connection.execute(
            "SELECT as_of, model_version FROM predictions ORDER BY as_of"
        ).df()
    assert stored["as_of"].tolist() == [r["as_of"] for r in records]
    assert set(stored["model_version"]) == {"3"}
