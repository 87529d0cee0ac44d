"""Training core: target, splits and purge, metrics, baselines, the gate, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from btc_platform.features.indicators import FEATURES, compute_features
from btc_platform.training.baselines import baseline_quantiles
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import build_training_set, forward_log_return
from btc_platform.training.evaluation import Evaluation
from btc_platform.training.metrics import pinball_loss, score, skill
from btc_platform.training.promotion import ChampionScore, decide
from btc_platform.training.search_space import SearchSpace
from btc_platform.training.splits import holdout_split, walk_forward_folds
from btc_platform.training.trainer import train
from btc_platform_tests.candle_factory import market_candles


def candles_with_closes(closes: list[float]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "window_start": pd.date_range("2025-01-01", periods=len(closes), freq="60s"),
            "close": closes,
        }
    )


def test_target_is_the_forward_log_return_over_the_horizon():
    candles = candles_with_closes([100.0, 101.0, 102.0, 103.0, 104.0])
    target = forward_log_return(candles, horizon_minutes=2, interval_seconds=60)
    np.testing.assert_allclose(
        target.to_numpy()[:3], np.log([102 / 100, 103 / 101, 104 / 102]), rtol=1e-15
    )
    assert target.iloc[3:].isna().all()


def test_a_missing_candle_gives_no_target_rather_than_a_wrong_one():
    candles = candles_with_closes([100.0, 101.0, 102.0, 103.0]).drop(index=2)
    target = forward_log_return(candles, horizon_minutes=2, interval_seconds=60)
    assert np.isnan(target.iloc[0])  # 00:02 is missing
    assert target.iloc[1] == pytest.approx(np.log(103 / 101))


def test_the_holdout_is_the_most_recent_window_after_a_purge_gap():
    split = holdout_split(100, 0.2, purge=5)
    assert (split.train, split.test) == (slice(0, 75), slice(80, 100))
    with pytest.raises(ValueError, match="10 rows are too few for a holdout of 50%"):
        holdout_split(10, 0.5, purge=5)


@pytest.mark.parametrize("horizon_minutes", [1, 5, 15])
def test_no_training_target_reaches_into_its_test_window(horizon_minutes):
    """Purge test: a training row's target ends before the first test row's candle closes."""
    candles = market_candles(1_400, seed=5)
    dataset = build_training_set(
        compute_features(candles, 60), candles, FEATURES, "BTC/USD", 60, horizon_minutes
    )
    times = dataset.frame["window_start"]
    horizon = pd.Timedelta(minutes=horizon_minutes)
    splits = [
        *walk_forward_folds(len(times), 4, horizon_minutes),
        holdout_split(len(times), 0.2, horizon_minutes),
    ]
    for split in splits:
        last_target_end = times.iloc[split.train.stop - 1] + horizon
        assert last_target_end < times.iloc[split.test.start]
        assert split.train.start == 0 and split.train.stop < split.test.start
    starts = [s.test.start for s in splits[:-1]]
    assert starts == sorted(starts) and len(set(starts)) == 4


def test_pinball_loss_and_scores_on_known_numbers():
    actual = np.array([0.001, -0.002])
    forecast = np.array([[-0.001, 0.0, 0.001], [-0.001, 0.0, 0.001]])
    # row 1: p10 .1*.002, p50 .5*.001, p90 0; row 2: p10 .9*.001, p50 .5*.002, p90 .1*.003
    expected = np.mean([0.0002, 0.0005, 0.0, 0.0009, 0.001, 0.0003])
    assert pinball_loss(actual, forecast) == pytest.approx(expected, rel=1e-12)
    metrics = score(actual, forecast)
    assert metrics["mae_bps"] == pytest.approx(15.0)
    assert metrics["band_coverage"] == 0.5
    assert metrics["band_width_bps"] == pytest.approx(20.0)
    assert np.isnan(metrics["directional_accuracy"])  # a median that never moves
    assert skill(0.8, 1.0) == pytest.approx(0.2)


def test_the_baseline_band_is_the_training_windows_static_quantiles():
    train_target = np.linspace(-0.01, 0.01, 1_001)
    baseline = baseline_quantiles(train_target, 3)
    np.testing.assert_allclose(baseline, [[-0.008, 0.0, 0.008]] * 3, atol=1e-12)


def evaluation(model_pinball: float, model_mae: float) -> Evaluation:
    base = {"pinball_loss": 1.0, "mae_bps": 10.0, "rmse_bps": 14.0}
    return Evaluation(
        model=base | {"pinball_loss": model_pinball, "mae_bps": model_mae}, baseline=base
    )


def test_the_first_champion_must_beat_the_baseline_band_and_not_lose_on_the_median():
    promoted = decide(evaluation(0.9, 10.04), champion=None, tolerance=0.005)
    assert promoted.promote and promoted.reason == "beats the baseline; no champion yet"
    worse_band = decide(evaluation(1.0, 9.0), champion=None)
    assert not worse_band.promote
    assert worse_band.reason == "pinball loss 1 does not beat the baseline's 1"
    worse_median = decide(evaluation(0.9, 10.06), champion=None, tolerance=0.005)
    assert not worse_median.promote
    assert "p50 MAE 10.06 bps is worse than zero return's 10 bps by more than 0.5%" in (
        worse_median.reason
    )


def test_a_challenger_must_beat_the_champion_rescored_on_the_same_holdout():
    better = decide(evaluation(0.9, 10.0), ChampionScore("3", 0.95))
    assert better.promote and better.reason == "beats the baseline and champion v3 (0.95)"
    worse = decide(evaluation(0.9, 10.0), ChampionScore("3", 0.85))
    assert not worse.promote
    assert worse.reason == "pinball loss 0.9 does not beat champion v3's 0.85 on the same holdout"
    tags = worse.as_tags()
    assert tags["promotion.decision"] == "rejected"
    assert tags["promotion.champion_version"] == "3"
    assert tags["promotion.champion_pinball"] == "0.85"
    unscorable = decide(evaluation(0.9, 10.0), ChampionScore("3", None, "uses other features"))
    assert unscorable.promote
    assert unscorable.reason == "beats the baseline; champion v3 uses other features"


def test_search_space_ranges_are_checked():
    with pytest.raises(ValueError, match="search space max_depth: need 0 < low <= high"):
        SearchSpace(max_depth=(6, 2))
    with pytest.raises(ValueError, match=r"search space subsample: need \[low, high\]"):
        SearchSpace(subsample=(0.5,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="search space colsample_bytree: values must be <= 1"):
        SearchSpace(colsample_bytree=(0.5, 2.0))


SMALL_SPACE = SearchSpace(n_estimators=(20, 60), max_depth=(2, 4))


def test_the_same_seed_gives_the_same_model():
    candles = market_candles(1_600, seed=11, autocorrelation=0.3)
    dataset = build_training_set(compute_features(candles, 60), candles, FEATURES, "BTC/USD", 60, 5)
    config = TrainingConfig(trials=2, seed=7, space=SMALL_SPACE)
    first, second = train(dataset, config), train(dataset, config)
    assert first.params == second.params
    np.testing.assert_array_equal(first.holdout_forecast, second.holdout_forecast)
    other = train(dataset, TrainingConfig(trials=2, seed=8, space=SMALL_SPACE))
    assert other.params != first.params
    # quantiles never cross
    assert (np.diff(first.holdout_forecast, axis=1) >= 0).all()
