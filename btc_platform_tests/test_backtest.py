"""The walk-forward backtest: no look-ahead, its retrains and gate, the table it writes, the
MLflow summary run, and the `btc-platform backtest` command and Dagster asset."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import numpy as np
import pandas as pd
import pytest
from mlflow.tracking import MlflowClient

from btc_platform.defs.definitions import build_definitions
from btc_platform.features.compute import FEATURES, compute_features
from btc_platform.store.store_connection import open_store
from btc_platform.training.backtest import BacktestSpec, run_backtest
from btc_platform.training.config import TrainingConfig
from btc_platform.training.search_space import SearchSpace
from btc_platform_tests.candle_factory import market_candles, store_candles
from btc_platform_tests.cli_helpers import cli_env, run_cli

QUICK = TrainingConfig(trials=1, cv_folds=2, space=SearchSpace(n_estimators=(30, 30)))
CANDLES = FEATURES.warmup_candles + 4_400
START = pd.Timestamp("2025-03-01")


def spec(**changes) -> BacktestSpec:
    values = {
        "pair": "BTC/USD",
        "interval_seconds": 60,
        "horizon_minutes": 5,
        "since": (START + pd.Timedelta(minutes=FEATURES.warmup_candles + 3_000)).to_pydatetime(),
        "until": (START + pd.Timedelta(minutes=CANDLES - 10)).to_pydatetime(),
        "retrain_every": timedelta(hours=7),
        "config": QUICK,
        "tolerance": 0.005,
    } | changes
    return BacktestSpec(**values)


def backtest(candles: pd.DataFrame, the_spec: BacktestSpec | None = None):
    return run_backtest(the_spec or spec(), compute_features(candles, 60), candles)


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return market_candles(CANDLES, seed=8, autocorrelation=0.7)


@pytest.fixture(scope="module")
def result(candles):
    return backtest(candles)


def test_every_close_after_the_first_retrain_gets_a_forecast_from_a_model_trained_before_it(
    candles, result
):
    the_spec = result.spec
    predictions = result.predictions
    assert [r.at for r in result.retrains] == the_spec.retrain_points()
    assert len(result.retrains) == 4
    as_of = pd.to_datetime(predictions["as_of"])
    first = next(r for r in result.retrains if r.promoted)
    assert as_of.iloc[0] == pd.Timestamp(first.at)  # forecasts start with the first champion
    assert as_of.iloc[-1] == pd.Timestamp(the_spec.until) - pd.Timedelta(minutes=1)
    assert as_of.diff().dropna().eq(pd.Timedelta(minutes=1)).all()  # every close, once
    assert (pd.to_datetime(predictions["trained_until"]) <= as_of).all()
    assert (predictions["p10"] <= predictions["p50"]).all()
    assert (predictions["p50"] <= predictions["p90"]).all()
    # the first champion had none to beat; later retrains are gated against the current one
    assert first.reason == "beats the baselines significantly; no champion yet"
    later = result.retrains[result.retrains.index(first) + 1 :]
    assert any(r.promoted for r in later)
    for retrain in later:  # a later one must beat the baselines, then the champion, both
        # significantly, on rows the champion never trained on
        expected = "beats the baselines and champion bt-" if retrain.promoted else "pinball "
        assert retrain.reason.startswith(expected), retrain.reason
    versions = predictions["model_version"].unique().tolist()
    assert versions == sorted(versions) and versions[0] == "bt-1"
    # the realized return is the forward log return (the candles go on after `until`)
    closes = np.log(candles.set_index("window_start")["close"])
    row = predictions.iloc[100]
    start = pd.Timestamp(row["as_of"]) - pd.Timedelta(minutes=1)
    expected = closes[start + pd.Timedelta(minutes=5)] - closes[start]
    assert row["realized_return"] == pytest.approx(expected, rel=1e-12)
    assert predictions["realized_return"].notna().all()


def test_closes_before_a_model_wins_are_forecast_by_the_rule_that_would_have_answered():
    """On a market with nothing to learn but its volatility, no model wins significantly: the
    EWMA-blend rule, fitted at the first retrain point, forecasts every close (no selection
    of the stretches a model served)."""
    result = backtest(market_candles(CANDLES, seed=8))
    assert not any(r.promoted for r in result.retrains)
    predictions = result.predictions
    assert predictions["model_version"].unique().tolist() == ["bt-rule-1"]
    as_of = pd.to_datetime(predictions["as_of"])
    assert as_of.iloc[0] == pd.Timestamp(result.spec.since)
    assert as_of.diff().dropna().eq(pd.Timedelta(minutes=1)).all()
    assert (predictions["p50"] == 0).all() and (predictions["p10"] < predictions["p90"]).all()
    assert [r.version for r in result.retrains] == ["bt-rule-1"] * 4


def test_nothing_at_a_close_depends_on_anything_after_it(candles, result):
    """Changing every candle after t changes no forecast (nor its calibration) made by t."""
    t = pd.Timestamp(result.spec.since) + pd.Timedelta(hours=9)  # inside the second stretch
    changed = candles.copy()
    later = changed["window_start"] >= t
    for column in ("open", "high", "low", "close"):
        changed.loc[later, column] *= 1.3
    changed.loc[later, "volume"] *= 20
    other = backtest(changed).predictions
    known = pd.to_datetime(result.predictions["as_of"]) <= t
    columns = ["as_of", "model_version", "trained_until", "current_price", "p10", "p50", "p90"]
    pd.testing.assert_frame_equal(
        other.loc[known, columns], result.predictions.loc[known, columns], rtol=1e-12
    )
    assert not np.allclose(other.loc[~known, "p90"], result.predictions.loc[~known, "p90"])


def test_bad_periods_are_refused_with_the_reason():
    with pytest.raises(ValueError, match=r"backtest: --until .* is not after --since"):
        spec(until=spec().since)
    with pytest.raises(ValueError, match="backtest: --retrain-every must be positive"):
        spec(retrain_every=timedelta(0))


@pytest.mark.slow
def test_the_command_writes_the_table_and_a_summary_run_and_the_asset_does_too(
    model_settings, candles
):
    store_candles(model_settings.offline_store, candles)
    env = cli_env(model_settings.data_dir, model_settings.kafka_bootstrap)
    the_spec = spec()
    done = run_cli(
        [
            "backtest",
            "--since",
            f"{the_spec.since:%Y-%m-%dT%H:%M:%S}Z",
            "--until",
            f"{the_spec.until:%Y-%m-%dT%H:%M:%S}Z",
            "--retrain-every",
            "7h",
            "--trials",
            "1",
        ],
        env,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    assert "4 retrains (" in done.stdout and "verdict: the p10-p90 band" in done.stdout
    with open_store(model_settings.offline_store) as connection:
        table = connection.execute("SELECT * FROM backtest_predictions ORDER BY as_of").df()
    assert f"{len(table)} forecasts in backtest_predictions" in done.stdout
    run_id = table["run_id"].iloc[0]
    assert (table["run_id"] == run_id).all()
    assert set(table["pair"]) == {"BTC/USD"} and set(table["horizon_minutes"]) == {5}
    assert pd.Timestamp(table["as_of"].iloc[0]).to_pydatetime() in the_spec.retrain_points()
    assert (table["trained_until"] <= table["as_of"]).all()
    assert table[["p10", "p50", "p90", "current_price"]].notna().all().all()
    client = MlflowClient()
    run = client.get_run(run_id)
    assert run.data.tags["run_type"] == "backtest"
    assert run.data.params["retrains"] == "4"
    assert 0.7 < run.data.metrics["holdout_band_coverage"] < 0.9
    assert "pinball_skill_vol_scaled" in run.data.metrics
    artifacts = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert artifacts == {
        "plots/rolling_coverage.png",
        "plots/skill_over_time.png",
        "plots/coverage_by_volatility_tercile.png",
    }

    # The Dagster asset of the (BTC/USD, 5m) partition, from the launchpad's config, writes a
    # run of its own.
    defs = build_definitions(model_settings)
    dg.Definitions.validate_loadable(defs)  # what `dagster dev` checks: unique op/graph names
    config = {
        "since": f"{the_spec.since:%Y-%m-%dT%H:%M:%S}Z",
        "until": f"{the_spec.until:%Y-%m-%dT%H:%M:%S}Z",
        "retrain_every": "7h",
        "trials": 1,
    }
    materialized = defs.resolve_job_def("run_backtest").execute_in_process(
        run_config={"ops": {"backtest": {"ops": {"backtest_history": {"config": config}}}}},
        instance=dg.DagsterInstance.ephemeral(),
        partition_key="5m|BTC/USD",
    )
    assert materialized.success
    [event] = materialized.asset_materializations_for_node("backtest")
    assert event.partition == "5m|BTC/USD"
    assert event.metadata["forecasts_written"].value == len(table)
    assert event.metadata["retrains"].value == 4
    with open_store(model_settings.offline_store) as connection:
        runs = connection.execute(
            "SELECT count(DISTINCT run_id) FROM backtest_predictions"
        ).fetchall()[0][0]
    assert runs == 2
