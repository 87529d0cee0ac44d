"""The champion watcher against a real MLflow store: swaps on promotion, keeps the old model
when a new champion cannot be loaded, and says why."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlparse

from mlflow.tracking import MlflowClient

from btc_platform.features.compute import CANDLE_FEATURES, FEATURES, compute_features
from btc_platform.retrain import train_candidate
from btc_platform.serving.champion import ChampionWatcher
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.tracking.registry import Registry
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import build_training_set
from btc_platform.training.search_space import SearchSpace
from btc_platform_tests.candle_factory import market_candles

QUICK = SearchSpace(n_estimators=(20, 20))


MODEL = "btc-price-BTC-USD-5m"  # BTC_MODEL_NAME-<pair>-<horizon>m


def registered(settings, seed: int, pair: str = "BTC/USD", horizon: int = 5) -> str:
    """A quickly trained version of the (pair, horizon)'s model; its number."""
    candles = market_candles(FEATURES.warmup_candles + 1_000, seed=seed)
    features = compute_features(candles, 60)
    dataset = build_training_set(features, candles, CANDLE_FEATURES, pair, 60, horizon)
    config = TrainingConfig(trials=1, cv_folds=2, seed=seed, space=QUICK)
    return train_candidate(ModelStore.of(settings), dataset, config).version


def test_the_watcher_swaps_models_and_keeps_the_old_one_when_the_new_fails(model_settings):
    watcher = ChampionWatcher(str(model_settings.mlflow_tracking_uri), MODEL)
    watcher.refresh()
    assert watcher.current is None
    assert watcher.problem == f"{MODEL} has no champion yet"

    registry = Registry(MODEL)
    first, second, broken = (registered(model_settings, seed) for seed in (1, 2, 3))
    registry.promote(first)
    watcher.refresh()
    assert watcher.current.version == first and watcher.problem is None
    registry.promote(second)
    watcher.refresh()
    assert watcher.current.version == second

    source = MlflowClient().get_model_version(MODEL, broken).source
    artifacts = MlflowClient().get_logged_model(source.removeprefix("models:/")).artifact_location
    shutil.rmtree(Path(urlparse(artifacts).path))
    registry.promote(broken)
    watcher.refresh()
    assert watcher.current.version == second  # still serving
    assert watcher.problem.startswith(f"{MODEL}: champion v{broken} failed to load: ")
