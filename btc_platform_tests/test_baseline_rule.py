"""The EWMA-blend rule as a registered model version: a partition's first champion, answering
through the same path as a trained model, before any training."""

from __future__ import annotations

import numpy as np
import pytest
from mlflow.tracking import MlflowClient

from btc_platform.features.compute import FEATURES
from btc_platform.serving.champion import load_served_model
from btc_platform.stack.status import champion_version
from btc_platform.tracking.baseline_champion import serve_rule_first
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.tracking.registry import Registry
from btc_platform.training.baseline_rule import BaselineRule
from btc_platform_tests.candle_factory import market_candles
from btc_platform_tests.test_champion_watcher import MODEL
from btc_platform_tests.test_training_core import dataset_of


@pytest.fixture(scope="module")
def dataset():
    return dataset_of(market_candles(1_500, seed=8))


def test_the_rule_is_the_ewma_blend_times_the_standardized_band(dataset, tmp_path):
    rule = BaselineRule.fit(dataset)
    frame = dataset.frame
    scale = frame["ewma_blend_vol"].to_numpy() * np.sqrt(5)
    z = frame["target"].to_numpy() / scale
    assert rule.z_band == pytest.approx(tuple(np.quantile(z[np.isfinite(z)], [0.1, 0.9])))
    assert rule.z_band[0] < 0 < rule.z_band[1]
    forecast = rule.predict(frame)
    np.testing.assert_allclose(forecast[:, 0], scale * rule.z_band[0], rtol=1e-12)
    np.testing.assert_allclose(forecast[:, 2], scale * rule.z_band[1], rtol=1e-12)
    assert (forecast[:, 1] == 0).all()
    # saved and loaded, bound to the live feature vector: the same answers
    rule.save(tmp_path / "rule")
    loaded = BaselineRule.load(tmp_path / "rule")
    assert loaded == rule
    columns = list(FEATURES.columns)
    bound = loaded.bind(columns)
    row = frame.reindex(columns=columns).iloc[-1].to_numpy(dtype="float64")
    np.testing.assert_allclose(bound.quantiles(row), forecast[-1], rtol=1e-12)


def test_a_partition_without_a_champion_gets_the_rule_which_answers_as_a_model(
    dataset, model_settings
):
    store = ModelStore.of(model_settings)
    assert serve_rule_first(store, dataset) == "1"
    assert serve_rule_first(store, dataset) is None  # a champion exists: nothing registered
    champion = Registry(MODEL).champion()
    assert str(champion.version) == "1"
    assert champion.tags["baseline_rule"] == "ewma_blend_rule"
    assert champion.tags["promotion.reason"] == (
        "no champion yet: the EWMA-blend rule answers until a trained model beats it"
    )
    assert float(champion.tags["baseline.vol_scaled_z10"]) < 0  # the live accuracy loop's
    run = MlflowClient().get_run(champion.run_id)
    assert run.data.tags["baseline_rule"] == "ewma_blend_rule"
    served = load_served_model(Registry(MODEL), "1", dict(champion.tags))
    assert served.answered_by == "ewma_blend_rule"
    assert served.feature_set == dataset.feature_set.key
    features = dataset.frame.reindex(columns=list(FEATURES.columns)).to_numpy(dtype="float64")
    expected = BaselineRule.fit(dataset).predict(dataset.frame)
    np.testing.assert_allclose(served.quantiles_many(features[-3:]), expected[-3:], rtol=1e-12)
    assert champion_version(model_settings) == "v1 (the EWMA-blend rule)"
