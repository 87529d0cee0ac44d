"""The Dagster `retrain` job run for real against DuckDB and an MLflow SQLite store."""

from __future__ import annotations

import dagster as dg
import pytest
from mlflow.tracking import MlflowClient

from btc_platform.defs.definitions import build_definitions
from btc_platform.features.compute import FEATURES
from btc_platform.settings import load_settings
from btc_platform.tracking.registry import CHAMPION
from btc_platform_tests.candle_factory import market_candles, store_candles

BUDGET = {
    "trials": 3,
    "n_estimators": [100, 300],
    "max_depth": [2, 4],
    "learning_rate": [0.05, 0.3],
}


@pytest.fixture
def settings(model_settings):
    return model_settings


def run_retrain(defs: dg.Definitions, price_model_config: dict) -> dg.ExecuteInProcessResult:
    return defs.resolve_job_def("retrain").execute_in_process(
        run_config={"ops": {"price_model": {"config": price_model_config}}},
        instance=dg.DagsterInstance.ephemeral(),
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
    assert model["model_version"] == "btc-price v1"
    assert model["pinball_loss_skill"] > 0.01
    assert model["pinball_skill_static"] > model["pinball_skill_vol_scaled"] > 0.01
    assert "the p10-p90 band beats every baseline" in model["verdict"]
    assert model["median_guard"].startswith("p50 kept at")
    decision = metadata(result, "champion")
    assert decision["promoted"] is True
    assert decision["reason"] == "beats the baselines; no champion yet"
    assert decision["baseline"] == "vol_scaled"
    assert float(decision["skill_vs_vol_scaled"]) > 0.01
    candidate = result.output_for_node("price_model")
    champion = MlflowClient().get_model_version_by_alias(settings.model_name, CHAMPION)
    assert str(champion.version) == candidate.version == "1"
    [check] = result.get_asset_check_evaluations()
    assert (check.check_name, check.passed) == ("champion_freshness", True), check.metadata
    run = MlflowClient().get_run(candidate.run_id)
    assert run.data.params["trials"] == "3"

    # A budget too small to compete: registered as v2, recorded, champion unchanged.
    weak = run_retrain(
        defs,
        {"trials": 1, "n_estimators": [5, 5], "max_depth": [2, 2], "learning_rate": [0.02, 0.02]},
    )
    assert weak.success
    assert metadata(weak, "features")["rows_added"] == 0
    rejected = metadata(weak, "champion")
    assert rejected["promoted"] is False
    assert "does not beat champion v1's" in rejected["reason"]
    champion = MlflowClient().get_model_version_by_alias(settings.model_name, CHAMPION)
    assert str(champion.version) == "1"


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
    defs = build_definitions(load_settings())
    schedule = defs.resolve_schedule_def("retrain_schedule")
    assert schedule.cron_schedule == "30 2 * * *"
    assert schedule.job_name == "retrain"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    checks = defs.resolve_asset_graph().get_check_keys_for_assets({dg.AssetKey("champion")})
    assert [c.name for c in checks] == ["champion_freshness"]
