"""The training pipeline against a real DuckDB file and a real MLflow SQLite store."""

from __future__ import annotations

import mlflow
import pytest
from mlflow.tracking import MlflowClient

from btc_platform.features.compute import FEATURES
from btc_platform.retrain import retrain
from btc_platform.tracking.registry import CHAMPION, PREVIOUS, Registry
from btc_platform.training.config import TrainingConfig
from btc_platform.training.search_space import SearchSpace
from btc_platform_tests.candle_factory import market_candles, store_candles
from btc_platform_tests.cli_helpers import cli_env, run_cli
from btc_platform_tests.conftest import shared_file
from btc_platform_tests.test_champion_watcher import MODEL

STRONG = TrainingConfig(
    trials=3,
    space=SearchSpace(n_estimators=(100, 300), max_depth=(2, 4), learning_rate=(0.05, 0.3)),
)
# Underfits on purpose: beats the baseline a little, the strong model by far not.
WEAK = TrainingConfig(
    trials=1, space=SearchSpace(n_estimators=(5, 5), max_depth=(2, 2), learning_rate=(0.02, 0.02))
)
PLOTS = {"plots/predicted_vs_actual.png", "plots/band_coverage.png", "plots/feature_importance.png"}


@pytest.fixture
def settings(model_settings):
    return model_settings


def artifact_paths(client: MlflowClient, run_id: str, path: str = "") -> set[str]:
    found = set()
    for item in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, item.path) if item.is_dir else {item.path}
    return found


def test_a_planted_signal_is_learned_promoted_and_tracked(settings):
    store_candles(settings.offline_store, market_candles(5_000, seed=21, autocorrelation=0.7))
    result = retrain(settings, STRONG)

    skills = result.candidate.evaluation.skills
    assert result.decision.promote, result.decision.reason
    # the EWMA-blend rule became the first champion (v1) before training; the model replaced
    # it through the gate
    assert result.decision.reason == (
        "beats the baselines significantly; champion v1 is the EWMA-blend rule, held to above "
        "as a baseline"
    )
    assert skills["pinball_loss_skill"] > 0.01 and skills["mae_bps_skill"] > 0.01
    # a GARCH market: volatility matters (the strongest baseline is the EWMA blend)
    assert result.candidate.evaluation.strongest == "ewma_blend"
    client = MlflowClient()
    champion = client.get_model_version_by_alias(MODEL, CHAMPION)
    assert str(champion.version) == result.candidate.version == "2"
    rule = client.get_model_version_by_alias(MODEL, PREVIOUS)
    assert str(rule.version) == "1" and rule.tags["baseline_rule"] == "ewma_blend_rule"
    assert rule.tags["verdict"].startswith("the EWMA-blend rule (no machine learning) answers")
    assert champion.tags["promotion.decision"] == "promoted"
    assert champion.tags["feature_set"] == "candle-vol/v2"  # no order flow in these candles
    assert champion.tags["promotion.baseline"] == "ewma_blend"
    assert champion.tags["promotion.interval_vs_ewma_blend"].startswith("+")
    assert (
        float(champion.tags["promotion.skill_vs_static"])
        > float(champion.tags["promotion.skill_vs_vol_scaled"])
        > float(champion.tags["promotion.skill_vs_ewma_blend"])
        > 0
    )
    # each skill with its 95% interval: the planted signal is a significant win
    low = float(champion.tags["metric.pinball_skill_ewma_blend_low"])
    high = float(champion.tags["metric.pinball_skill_ewma_blend_high"])
    assert 0 < low < float(champion.tags["promotion.skill_vs_ewma_blend"]) < high
    assert (
        float(champion.tags["baseline.ewma_blend_z10"])
        < 0
        < float(champion.tags["baseline.ewma_blend_z90"])
    )
    assert champion.tags["median_guard"].startswith("p50 kept at")
    assert champion.tags["dataset.content_hash"] == result.dataset.lineage.content_hash
    assert champion.tags["dataset.rows"] == str(result.dataset.lineage.rows)
    assert float(champion.tags["metric.pinball_loss_skill"]) == pytest.approx(
        skills["pinball_loss_skill"], rel=1e-5
    )

    run = client.get_run(result.candidate.run_id)
    assert run.data.metrics["pinball_loss_skill"] == pytest.approx(skills["pinball_loss_skill"])
    assert run.data.params["trials"] == "3"
    assert "beats every baseline" in run.data.tags["verdict"]
    trials = client.search_runs(
        [run.info.experiment_id], f"tags.mlflow.parentRunId = '{run.info.run_id}'"
    )
    assert len(trials) == 3
    assert all("cv_pinball_loss" in t.data.metrics for t in trials)
    assert {"feature_set.json", "search_space.json"} | PLOTS <= artifact_paths(
        client, run.info.run_id
    )
    assert run.inputs.dataset_inputs[0].dataset.digest == result.dataset.lineage.content_hash
    experiment = client.get_experiment(run.info.experiment_id)
    assert experiment.name == "btc-price/BTC-USD/60s/h5m"
    assert experiment.artifact_location.startswith(
        (settings.data_dir / "mlflow-artifacts").resolve().as_uri()
    )

    # The registered model is an MLflow pyfunc: features in, p10/p50/p90 log returns out.
    served = mlflow.pyfunc.load_model(f"models:/{MODEL}@{CHAMPION}")
    holdout = result.dataset.frame.iloc[result.candidate.holdout.test]
    answer = served.predict(holdout.head(4))
    assert list(answer.columns) == ["p10", "p50", "p90"] and len(answer) == 4
    assert (answer["p10"] < answer["p50"]).all() and (answer["p50"] < answer["p90"]).all()
    model_info = mlflow.models.get_model_info(f"models:/{MODEL}@{CHAMPION}")
    assert model_info.signature.inputs.input_names()[:3] == ["vol_ref", "lv_rms_15", "lv_rms_60"]

    # The same challenger again, on the same data: v2 was refit on every row, so it has
    # seen this whole holdout. It is never scored on rows it trained on: the decision waits.
    again = retrain(settings, STRONG)
    assert again.candidate.evaluation.intervals["ewma_blend"].significant
    assert not again.decision.promote
    assert again.decision.reason == (
        "champion v2 can be compared on only 0 holdout rows newer than its training data "
        "(needs 240): the decision waits for more data"
    )
    rejected = client.get_model_version(MODEL, "3")
    assert rejected.tags["promotion.decision"] == "rejected"
    assert rejected.tags["promotion.champion_pinball"] == "n/a"
    assert champion.tags["trained_until"] == result.candidate.trained_until.isoformat()
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION).version) == "2"

    # Rollback through the CLI: make v3 champion by hand, then roll back to v2.
    Registry(MODEL).promote("3")
    assert str(client.get_model_version_by_alias(MODEL, PREVIOUS).version) == "2"
    env = cli_env(settings.data_dir, settings.kafka_bootstrap)
    rolled = run_cli(["model", "rollback"], env)
    assert rolled.returncode == 0, rolled.stderr
    assert rolled.stdout.strip() == f"champion is now {MODEL} v2"
    shown = run_cli(["model", "show", "--pair", "btc/usd", "--horizon", "5"], env, timeout=300)
    assert f"champion: {MODEL} v2" in shown.stdout
    assert f"previous-champion: {MODEL} v3" in shown.stdout
    # another (pair, horizon) is another registered model, with its own history
    other = run_cli(
        ["model", "show", "--horizon", "15"], env | {"BTC_HORIZONS": "5,15"}, timeout=300
    )
    assert other.stdout.splitlines() == ["champion: none", "previous-champion: none"]
    unknown = run_cli(["model", "rollback", "--pair", "ETH/USD"], env)
    assert unknown.returncode == 2
    assert "ETH/USD 5m is not configured (BTC_PAIRS x BTC_HORIZONS: BTC/USD 5m)" in unknown.stderr


def test_on_a_random_walk_the_gate_follows_its_rule_and_records_why(settings):
    store_candles(settings.offline_store, market_candles(3_000, seed=4, autocorrelation=0.0))
    result = retrain(settings, WEAK)
    evaluation = result.candidate.evaluation
    model, baseline = evaluation.model, evaluation.baseline
    follows_rule = (
        model["pinball_loss"] < baseline["pinball_loss"]
        and evaluation.intervals[evaluation.strongest].significant
        and model["mae_bps"] <= baseline["mae_bps"] * (1 + settings.promotion_tolerance)
    )
    assert result.decision.promote == follows_rule
    tags = MlflowClient().get_model_version(MODEL, "2").tags
    assert tags["promotion.decision"] == ("promoted" if follows_rule else "rejected")
    assert tags["promotion.reason"] == result.decision.reason
    assert tags["promotion.baseline_pinball"] == f"{baseline['pinball_loss']:.6g}"
    # a champion either way: the model, or the EWMA-blend rule that answered before it
    champion = Registry(MODEL).champion()
    assert str(champion.version) == ("2" if follows_rule else "1")


def test_too_little_history_is_a_clear_error(settings):
    store_candles(settings.offline_store, market_candles(300, seed=1))
    env = cli_env(settings.data_dir, settings.kafka_bootstrap) | {"BTC_HORIZONS": "5,60"}
    failed = run_cli(["train", "--trials", "1", "--horizon", "60"], env)
    assert failed.returncode == 1
    assert (
        "no training rows for BTC/USD: need candles with features "
        f"(over {FEATURES.warmup_candles} of warm-up)" in failed.stderr
    )


@pytest.mark.data
@pytest.mark.slow
def test_on_real_btc_candles_a_champion_is_promoted_with_honest_numbers(settings):
    """Real 1-minute BTC: the band has skill, the point forecast about none (data README)."""
    csv = shared_file("binance_BTCUSDT_1m_2024-08.csv")
    env = cli_env(settings.data_dir, settings.kafka_bootstrap)
    loaded = run_cli(["import-candles", str(csv), "--pair", "BTC/USD"], env)
    assert loaded.returncode == 0, loaded.stderr
    trained = run_cli(["train", "--trials", "3"], env, timeout=300)
    assert trained.returncode == 0, trained.stderr
    assert "the point forecast has about zero skill against zero return" in trained.stdout
    client = MlflowClient()
    tags = client.get_model_version(MODEL, "2").tags  # v1: the EWMA-blend rule
    # promoted only on a significant win over the strongest baseline, and it says which
    strongest = tags["promotion.baseline"]
    significant = float(tags[f"metric.pinball_skill_{strongest}_low"]) > 0
    promoted = tags["promotion.decision"] == "promoted"
    assert promoted == (significant and float(tags["metric.pinball_loss_skill"]) > 0)
    assert (
        "promoted to champion: beats the baselines significantly" if promoted else "not promoted: "
    ) in trained.stdout
    assert str(client.get_model_version_by_alias(MODEL, CHAMPION).version) == (
        "2" if promoted else "1"
    )
    # the EWMA blend (no machine learning) beats the 60-minute rule: of the skill against
    # that rule, part is the better volatility estimate, not the model
    assert (
        float(tags["metric.pinball_skill_ewma_blend"])
        < float(tags["metric.pinball_skill_vol_scaled"])
        < 0.1
    )
    assert 0.03 < float(tags["metric.pinball_skill_static"]) < 0.2
    assert float(tags["metric.mae_bps_skill"]) >= 0  # the p50 guard: never worse than zero
    assert 0.77 < float(tags["metric.holdout_band_coverage"]) < 0.83
