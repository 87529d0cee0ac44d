"""One real `bentoml serve` for two pairs of different dynamics and two horizons: each
(pair, horizon) answers from its own champion, a partition without one is refused alone,
and a promotion in one partition leaves the others' answers as they were."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
import pytest

from btc_platform.broker.topics import Topics
from btc_platform.drain import drain
from btc_platform.ingest.synthetic import MarketModel
from btc_platform.pair_horizon import PairHorizon
from btc_platform.retrain import train_candidate
from btc_platform.serving.runtime import HISTORY
from btc_platform.settings import load_settings
from btc_platform.store.feature_store import refresh_features
from btc_platform.store.store_connection import open_store
from btc_platform.store.training_snapshot import load_training_set
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.tracking.registry import Registry
from btc_platform.training.config import TrainingConfig
from btc_platform.training.search_space import SearchSpace
from btc_platform_tests.conftest import free_port, own_embedded_broker
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.serving_helpers import market, publish_trades
from btc_platform_tests.test_service_http import replayed, serve, service_env

QUICK = SearchSpace(n_estimators=(30, 30))
# ETH: another price level, twice the volatility, a stronger short-lived drift
ETH_MARKET = MarketModel(start_price=3_000.0, sigma0=1.7e-4, drift_std=6e-6, drift_half_life=300)
BTC_5, BTC_15 = PairHorizon("BTC/USD", 5), PairHorizon("BTC/USD", 15)
ETH_5, ETH_15 = PairHorizon("ETH/USD", 5), PairHorizon("ETH/USD", 15)


def champion_of(settings, target: PairHorizon, seed: int) -> str:
    """Train the (pair, horizon)'s model quickly and promote the new version."""
    with open_store(settings.offline_store) as connection:
        refresh_features(connection, target.pair, 60)
        dataset = load_training_set(connection, target.pair, 60, target.horizon_minutes)
    config = TrainingConfig(trials=1, cv_folds=2, seed=seed, space=QUICK)
    version = train_candidate(ModelStore.of(settings), dataset, config).version
    Registry(settings.model_name_of(target)).promote(version)
    return version


def query(target: PairHorizon) -> dict[str, object]:
    return {"pair": target.pair, "horizon_minutes": target.horizon_minutes}


def ask(url: str, target: PairHorizon) -> httpx.Response:
    return httpx.post(f"{url}/predict", json=query(target), timeout=10)


def card(url: str, target: PairHorizon) -> httpx.Response:
    return httpx.get(f"{url}/model", params=query(target), timeout=10)


@pytest.mark.slow
def test_every_pair_and_horizon_is_served_by_its_own_champion(
    model_settings, monkeypatch, tmp_path
):
    with own_embedded_broker(tmp_path / "broker") as broker:
        monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
        monkeypatch.setenv("BTC_PAIRS", "BTC/USD,ETH/USD")
        monkeypatch.setenv("BTC_HORIZONS", "5,15")
        settings = load_settings()
        end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        start = end - timedelta(minutes=HISTORY + 120)
        trades = market(start, end, seed=3) + market(start, end, 11, "ETH/USD", ETH_MARKET)
        publish_trades(broker.bootstrap, Topics(), tmp_path / "spool.jsonl", trades)
        drain(broker.bootstrap, settings.offline_store, "trades", 60)
        versions = {
            t: champion_of(settings, t, seed) for seed, t in enumerate([BTC_5, BTC_15, ETH_5])
        }

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env = service_env(
            settings,
            broker.bootstrap,
            BTC_PAIRS="BTC/USD,ETH/USD",
            BTC_HORIZONS="5,15",
            BTC_CHAMPION_POLL_SECONDS="1",
            BTC_MAX_FEATURE_AGE_SECONDS="86400",  # the market ends when the test starts
        )
        with serve(env, port, tmp_path / "serve.log"):
            # ready: some partitions can answer, though ETH/USD 15m has no champion
            wait_until(lambda: http_status(f"{url}/readyz") == 200, 180, "ready")
            wait_until(lambda: all(ask(url, t).status_code == 200 for t in versions), 60, "all")
            for t in versions:
                wait_until(lambda t=t: replayed(url, **query(t)), 120, f"{t} calibrated")
            answers = {}
            for target, version in versions.items():
                answer = ask(url, target).json()
                model = card(url, target).json()
                name = settings.model_name_of(target)
                assert (answer["pair"], answer["horizon_minutes"]) == (
                    target.pair,
                    target.horizon_minutes,
                )
                assert (answer["model_name"], answer["model_version"]) == (name, version)
                assert (model["name"], model["version"]) == (name, version)
                assert (model["pair"], model["horizon_minutes"]) == (
                    target.pair,
                    target.horizon_minutes,
                )
                answers[target] = answer
            # the two pairs are priced by their own markets, each from its own model
            assert answers[ETH_5]["current_price"] < 10_000 < answers[BTC_5]["current_price"]
            assert answers[BTC_5]["band_low"] > answers[BTC_15]["band_low"]  # 15 min: wider
            default = httpx.post(f"{url}/predict", json={"pair": "ETH/USD"}, timeout=10).json()
            assert (default["horizon_minutes"], default["model_name"]) == (
                5,
                "btc-price-ETH-USD-5m",
            )

            # the partition without a champion: 503 for it alone, and listed as missing
            missing = "btc-price-ETH-USD-15m has no champion yet"
            refused = ask(url, ETH_15)
            assert (refused.status_code, refused.json()) == (503, {"error": missing})
            assert card(url, ETH_15).status_code == 503
            assert card(url, BTC_5).json()["missing"] == {"ETH/USD 15m": missing}
            unserved = ask(url, PairHorizon("BTC/USD", 60))
            assert unserved.status_code == 400
            assert unserved.json() == {
                "error": "horizon_minutes: 60 is not served (BTC_HORIZONS: 5, 15)"
            }
            board = httpx.get(
                f"{url}/dashboard/data",
                params={"pair": "ETH/USD", "horizon_minutes": 5},
                timeout=30,
            ).json()
            assert (board["horizon_minutes"], board["model_name"]) == (5, "btc-price-ETH-USD-5m")
            assert len(board["served"]) == 4 and board["forecasts"]

            # a promotion in BTC/USD 5m: its answer moves, the others' stay as they were
            second = champion_of(settings, BTC_5, seed=7)
            wait_until(lambda: ask(url, BTC_5).json()["model_version"] == second, 60, "the swap")
            for target in (BTC_15, ETH_5):
                after = ask(url, target).json()
                before = answers[target]
                for field in ("model_name", "model_version", "as_of", "predicted_return"):
                    assert after[field] == before[field], (target, field)
                assert after["band_low"] == pytest.approx(before["band_low"], rel=1e-12)

            # ETH/USD 15m gets its first champion: served live, the others untouched
            eth_15 = champion_of(settings, ETH_15, seed=5)
            wait_until(lambda: ask(url, ETH_15).status_code == 200, 60, "ETH/USD 15m served")
            assert ask(url, ETH_15).json()["model_version"] == eth_15
            assert card(url, BTC_5).json()["missing"] == {}
            assert ask(url, ETH_5).json()["model_version"] == versions[ETH_5]
