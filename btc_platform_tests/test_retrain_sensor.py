"""The retrain sensor, per (pair, horizon) partition: a first model once the pair's history
is enough, a new one when the champion is too old or fails live, the partition and reason
on every request, one partition at a time, nothing while a retrain is in flight."""

from __future__ import annotations

import dagster as dg

from btc_platform.defs.resources import MlflowResource
from btc_platform.defs.retrain_sensor import LiveTriggers, retrain_sensor
from btc_platform.features.compute import CANDLE_FEATURES, FEATURES, compute_features
from btc_platform.pair_horizon import PairHorizon
from btc_platform.tracking.baseline_champion import serve_rule_first
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.tracking.registry import Registry
from btc_platform.training.dataset import build_training_set
from btc_platform.training.first_model import FIRST_MODEL_CANDLES
from btc_platform_tests.candle_factory import market_candles
from btc_platform_tests.test_champion_watcher import MODEL, registered

BTC_5 = PairHorizon("BTC/USD", 5)


def evaluate(
    instance: dg.DagsterInstance,
    settings,
    max_age_hours: float = 48,
    default_trials: int = 20,
    targets: list[PairHorizon] | None = None,
):
    store = MlflowResource(
        tracking_uri=str(settings.mlflow_tracking_uri),
        local_artifacts=str(settings.mlflow_artifacts),
        model_prefix=settings.model_name,
        champion_max_age_hours=max_age_hours,
    )
    context = dg.build_sensor_context(instance=instance, resources={"mlflow_store": store})
    triggers = LiveTriggers(skill_floor=-0.05, coverage_tolerance=0.15)
    return retrain_sensor(targets or [BTC_5], triggers, default_trials)(context)


def drained(instance: dg.DagsterInstance, **candles: int) -> None:
    by_pair = {pair.replace("_", "/"): n for pair, n in candles.items()}
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "candles_1m",
            metadata={
                "candles_total": sum(by_pair.values()),
                "candles_by_pair": dg.MetadataValue.json(by_pair),
            },
        )
    )


def test_a_first_model_waits_for_history_then_is_requested_with_its_reason(model_settings):
    instance = dg.DagsterInstance.ephemeral()
    waiting = evaluate(instance, model_settings)
    assert waiting.skip_reason.skip_message == (
        f"BTC/USD 5m: no champion; waiting for {FIRST_MODEL_CANDLES} candles (have 0)"
    )
    drained(instance, BTC_USD=FIRST_MODEL_CANDLES + 100)
    [request] = evaluate(instance, model_settings).run_requests
    assert request.partition_key == dg.MultiPartitionKey({"pair": "BTC/USD", "horizon": "5m"})
    assert request.run_key == f"5m|BTC/USD:first-model-{(FIRST_MODEL_CANDLES + 100) // 240}"
    assert request.tags["retrain_reason"] == (
        f"BTC/USD 5m: no champion yet and {FIRST_MODEL_CANDLES + 100} candles to train on "
        "(first-model budget: 4 trials, 2 folds)"
    )
    # the first model's budget fits its few rows; a smaller default budget is kept
    budget = request.run_config["ops"]["price_model"]["config"]
    assert budget == {"trials": 4, "cv_folds": 2}
    [small] = evaluate(instance, model_settings, default_trials=2).run_requests
    assert small.run_config["ops"]["price_model"]["config"]["trials"] == 2


def test_one_partition_at_a_time_those_without_a_champion_first(model_settings):
    """Two pairs of different history and two horizons: a pair short of history waits while
    the other's partitions are requested one at a time, first models before an old champion."""
    instance = dg.DagsterInstance.ephemeral()
    targets = [PairHorizon(p, h) for p in ("BTC/USD", "ETH/USD") for h in (5, 15)]
    version = registered(model_settings, seed=1)
    Registry(MODEL).promote(version)  # BTC/USD 5m has a champion, other partitions do not
    drained(instance, BTC_USD=FIRST_MODEL_CANDLES, ETH_USD=100)
    [request] = evaluate(instance, model_settings, max_age_hours=1e-9, targets=targets).run_requests
    assert request.partition_key.keys_by_dimension == {"pair": "BTC/USD", "horizon": "15m"}
    assert request.tags["retrain_reason"].startswith("BTC/USD 15m: no champion yet and ")

    instance.add_run(
        dg.DagsterRun(job_name="retrain", run_id="in-flight", status=dg.DagsterRunStatus.STARTED)
    )
    busy = evaluate(instance, model_settings, targets=targets)
    assert busy.skip_reason.skip_message == "a retrain is in flight"


def test_every_partitions_reason_when_none_needs_a_retrain(model_settings):
    instance = dg.DagsterInstance.ephemeral()
    targets = [BTC_5, PairHorizon("ETH/USD", 5)]
    version = registered(model_settings, seed=1)
    Registry(MODEL).promote(version)
    drained(instance, BTC_USD=FIRST_MODEL_CANDLES, ETH_USD=100)
    result = evaluate(instance, model_settings, targets=targets)
    assert result.skip_reason.skip_message == (
        f"BTC/USD 5m: champion v{version} is 0.0 h old and holds up live; "
        f"ETH/USD 5m: no champion; waiting for {FIRST_MODEL_CANDLES} candles (have 100)"
    )


def test_later_retrains_get_the_normal_budget(model_settings):
    instance = dg.DagsterInstance.ephemeral()
    version = registered(model_settings, seed=1)
    Registry(MODEL).promote(version)
    [request] = evaluate(instance, model_settings, max_age_hours=1e-9).run_requests
    assert request.run_config == {}  # the job's defaults: BTC_TRAINING_TRIALS, three folds


def test_an_old_champion_is_replaced_and_a_fresh_one_is_left_alone(model_settings):
    instance = dg.DagsterInstance.ephemeral()
    version = registered(model_settings, seed=1)
    Registry(MODEL).promote(version)
    fresh = evaluate(instance, model_settings)
    assert fresh.skip_reason.skip_message == (
        f"BTC/USD 5m: champion v{version} is 0.0 h old and holds up live"
    )
    [request] = evaluate(instance, model_settings, max_age_hours=1e-9).run_requests
    assert request.run_key == f"5m|BTC/USD:age-{version}"
    assert request.tags["retrain_reason"].startswith(
        f"BTC/USD 5m: champion v{version} is 0.0 h old (limit"
    )


def test_a_rule_champion_is_challenged_again_long_before_its_age_limit(model_settings):
    """While the EWMA-blend rule answers, a model is tried again every eighth of the age
    limit on the data gathered since: the rule is a start, not a resting place."""
    instance = dg.DagsterInstance.ephemeral()
    candles = market_candles(FEATURES.warmup_candles + 1_000, seed=1)
    dataset = build_training_set(
        compute_features(candles, 60), candles, CANDLE_FEATURES, "BTC/USD", 60, 5
    )
    assert serve_rule_first(ModelStore.of(model_settings), dataset) == "1"
    fresh = evaluate(instance, model_settings)
    assert fresh.skip_reason.skip_message == (
        "BTC/USD 5m: champion v1 is 0.0 h old and holds up live"
    )
    [request] = evaluate(instance, model_settings, max_age_hours=1e-9).run_requests
    assert request.run_key.startswith("5m|BTC/USD:rule-1-")
    assert request.tags["retrain_reason"].startswith(
        "BTC/USD 5m: champion v1 is the EWMA-blend rule, 0.0 h old: a model is tried again on "
        "the data since (every 1.25e-10 h until one wins)"
    )


def live_record(instance: dg.DagsterInstance, version: str, **numbers: float) -> None:
    instance.report_runless_asset_event(
        dg.AssetMaterialization(
            "live_accuracy",
            metadata={"by_model": dg.MetadataValue.json({MODEL: {version: numbers}})},
        )
    )


def test_a_champion_failing_live_is_retrained_with_the_numbers_as_reason(model_settings):
    instance = dg.DagsterInstance.ephemeral()
    version = registered(model_settings, seed=1)
    Registry(MODEL).promote(version)
    live_record(instance, version, predictions=20, mae_skill=-0.5, band_coverage=0.2)
    assert not evaluate(instance, model_settings).run_requests  # too few outcomes to judge
    live_record(instance, version, predictions=60, mae_skill=0.01, band_coverage=0.78)
    assert not evaluate(instance, model_settings).run_requests  # holds up
    live_record(instance, version, predictions=60, mae_skill=-0.2, band_coverage=0.5)
    [request] = evaluate(instance, model_settings).run_requests
    assert request.run_key == f"5m|BTC/USD:live-{version}-60"
    assert request.tags["retrain_reason"] == (
        f"BTC/USD 5m: champion v{version} over its last 60 outcomes: live MAE skill -0.200 is "
        "below the floor -0.050; live band coverage 0.50 is outside 0.80 +- 0.15"
    )
