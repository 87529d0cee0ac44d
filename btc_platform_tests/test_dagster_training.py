"""The Dagster `retrain` job run for real against DuckDB and an MLflow SQLite store."""

from __future__ import annotations

from datetime import datetime

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from btc_platform.defs.definitions import build_definitions
from btc_platform.features.compute import FEATURES
from btc_platform.settings import load_settings
from btc_platform.tracking.registry import CHAMPION
from btc_platform_tests.candle_factory import market_candles, store_candles
from btc_platform_tests.test_champion_watcher import MODEL

BUDGET = {
    "trials": 3,
    "n_estimators": [100, 300],
    "max_depth": [2, 4],
    "learning_rate": [0.05, 0.3],
}


@pytest.fixture
def settings(model_settings):
    return model_settings


def run_retrain(
    defs: dg.Definitions,
    price_model_config: dict,
    partition: str = "5m|BTC/USD",
    instance: dg.DagsterInstance | None = None,
) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("retrain").execute_in_process(
        run_config={"ops": {"price_model": {"config": price_model_config}}},
        instance=instance or dg.DagsterInstance.ephemeral(),
        partition_key=partition,
        raise_on_error=False,
    )


def metadata(result: dg.ExecuteInProcessResult, node: str) -> dict:
    [materialization] = result.asset_materializations_for_node(node)
    return {key: value.value for key, value in materialization.metadata.items()}


def test_the_retrain_job_trains_registers_and_promotes(settings):
    store_candles(settings.offline_store, market_candles(5_000, seed=21, autocorrelation=0.7))
    defs = build_definitions(settings)
    result = run_retrain(defs, BUDGET)
    assert result.success

    warmup = FEATURES.warmup_candles
    assert metadata(result, "features")["rows_added"] == 5_000 - warmup
    assert metadata(result, "training_set")["dataset.rows"] == str(5_000 - warmup - 5)
    model = metadata(result, "price_model")
    # the EWMA-blend rule became the first champion (v1) before the model trained
    assert model["first_champion"] == "v1: the EWMA-blend rule"
    assert model["model_version"] == "btc-price-BTC-USD-5m v2"
    assert model["pinball_loss_skill"] > 0.01
    assert (
        model["pinball_skill_static"]
        > model["pinball_skill_vol_scaled"]
        > model["pinball_skill_ewma_blend"]
        > 0.01
    )
    assert 0 < model["pinball_skill_ewma_blend_low"] < model["pinball_skill_ewma_blend"]
    assert "the p10-p90 band beats every baseline" in model["verdict"]
    assert model["median_guard"].startswith("p50 kept at")
    decision = metadata(result, "champion")
    assert decision["promoted"] is True
    assert decision["reason"] == (
        "beats the baselines significantly; champion v1 is the EWMA-blend rule, held to above "
        "as a baseline"
    )
    assert decision["baseline"] == "ewma_blend"
    assert decision["interval_vs_ewma_blend"].startswith("+")
    assert float(decision["skill_vs_vol_scaled"]) > 0.01
    assert float(decision["skill_vs_ewma_blend"]) > 0.01
    candidate = result.output_for_node("price_model")
    champion = MlflowClient().get_model_version_by_alias(MODEL, CHAMPION)
    assert str(champion.version) == candidate.version == "2"
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("champion_freshness", True), check.metadata
    run = MlflowClient().get_run(candidate.run_id)
    assert run.data.params["trials"] == "3"

    # A budget too small to compete: registered as v3, recorded, champion unchanged.
    weak = run_retrain(
        defs,
        {"trials": 1, "n_estimators": [5, 5], "max_depth": [2, 2], "learning_rate": [0.02, 0.02]},
    )
    assert weak.success
    assert metadata(weak, "features")["rows_added"] == 0
    rejected = metadata(weak, "champion")
    assert rejected["promoted"] is False
    assert rejected["model_version"] == "btc-price-BTC-USD-5m v3"
    assert rejected["reason"].startswith(("pinball ", "champion v2 can be compared on only 0"))
    champion = MlflowClient().get_model_version_by_alias(MODEL, CHAMPION)
    assert str(champion.version) == "2"


def test_a_bad_search_space_from_the_launchpad_fails_with_its_name(settings):
    store_candles(settings.offline_store, market_candles(FEATURES.warmup_candles + 1_000, seed=2))
    result = run_retrain(build_definitions(settings), {"trials": 1, "max_depth": [6, 2]})
    assert not result.success
    [failure] = [e for e in result.all_events if e.is_step_failure]
    assert failure.step_key == "price_model"
    assert "search space max_depth: need 0 < low <= high, got 6, 2" in (
        failure.step_failure_data.error.to_string()
    )


def test_the_daily_schedule_and_the_champion_check_are_defined(settings, monkeypatch):
    monkeypatch.setenv("BTC_RETRAIN_CRON", "30 2 * * *")
    monkeypatch.setenv("BTC_PAIRS", "BTC/USD,ETH/USD")
    defs = build_definitions(load_settings())
    schedule = defs.resolve_schedule_def("retrain_schedule")
    assert schedule.cron_schedule == "30 2 * * *"
    assert schedule.job_name == "retrain"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    # every partition, queued to run one at a time (dagster.yaml: one `btc/job: retrain` run)
    context = dg.build_schedule_context(
        scheduled_execution_time=datetime(2026, 5, 1, 2, 30),
        repository_def=defs.get_repository_def(),
    )
    requests = schedule.evaluate_tick(context).run_requests
    assert [r.partition_key for r in requests] == ["5m|BTC/USD", "5m|ETH/USD"]
    assert requests[1].tags["retrain_reason"] == "ETH/USD 5m: scheduled retrain (30 2 * * *)"
    assert defs.resolve_job_def("retrain").tags["btc/job"] == "retrain"
    checks = defs.resolve_asset_graph().get_check_keys_for_assets({dg.AssetKey("champion")})
    assert [c.name for c in checks] == ["champion_freshness"]


def test_each_pair_and_horizon_trains_its_own_champion_and_leaves_the_others_alone(
    settings, monkeypatch
):
    """Two pairs of different dynamics (a trending BTC, a mean-reverting ETH at another price) and
    two horizons: each partition materializes alone and registers its own model."""
    store_candles(settings.offline_store, market_candles(3_500, seed=21, autocorrelation=0.7))
    store_candles(
        settings.offline_store,
        market_candles(3_500, seed=5, autocorrelation=-0.6, price=3_000.0, pair="ETH/USD"),
    )
    monkeypatch.setenv("BTC_PAIRS", "BTC/USD,ETH/USD")
    monkeypatch.setenv("BTC_HORIZONS", "5,15")
    defs = build_definitions(load_settings())
    job = defs.resolve_job_def("retrain")
    assert set(job.partitions_def.get_partition_keys()) == {
        "5m|BTC/USD",
        "15m|BTC/USD",
        "5m|ETH/USD",
        "15m|ETH/USD",
    }
    instance = dg.DagsterInstance.ephemeral()
    budget = {"trials": 1, "cv_folds": 2, "n_estimators": [30, 30]}
    eth = run_retrain(defs, budget, "15m|ETH/USD", instance)
    assert eth.success
    assert metadata(eth, "price_model")["first_champion"] == "v1: the EWMA-blend rule"
    assert metadata(eth, "features")["pair"] == "ETH/USD"
    rows = 3_500 - FEATURES.warmup_candles
    assert metadata(eth, "training_set")["dataset.rows"] == str(rows - 15)
    assert metadata(eth, "training_set")["dataset.pair"] == "ETH/USD"
    assert metadata(eth, "price_model")["model_version"] == "btc-price-ETH-USD-15m v2"
    # materializing one partition touched no other
    for key in ("features", "training_set", "price_model", "champion"):
        materialized = instance.get_materialized_partitions(dg.AssetKey(key))
        assert materialized == {"15m|ETH/USD"}, key
    assert MlflowClient().search_registered_models() and [
        m.name for m in MlflowClient().search_registered_models()
    ] == ["btc-price-ETH-USD-15m"]

    btc = run_retrain(defs, budget, "5m|BTC/USD", instance)
    assert btc.success
    assert metadata(btc, "training_set")["dataset.rows"] == str(rows - 5)
    # each partition's champion: its trained model (v2) if it won significantly, else its rule
    champions = {
        name: str(MlflowClient().get_model_version_by_alias(name, CHAMPION).version)
        for name in ("btc-price-BTC-USD-5m", "btc-price-ETH-USD-15m")
    }
    assert champions == {
        "btc-price-BTC-USD-5m": "2" if metadata(btc, "champion")["promoted"] else "1",
        "btc-price-ETH-USD-15m": "2" if metadata(eth, "champion")["promoted"] else "1",
    }
    assert instance.get_materialized_partitions(dg.AssetKey("champion")) == {
        "15m|ETH/USD",
        "5m|BTC/USD",
    }
