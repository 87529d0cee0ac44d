"""Training core: targets, splits and purge, the p50 guard, the forecaster end to end,
determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from btc_platform.features.compute import CANDLE_FEATURES, compute_features
from btc_platform.features.segments import OUTAGE_WINDOWS
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import (
    build_training_set,
    forward_log_return,
    forward_variance,
)
from btc_platform.training.forecaster import Forecaster
from btc_platform.training.median_guard import choose_median_shrink
from btc_platform.training.search_space import SearchSpace
from btc_platform.training.significance import gain_t
from btc_platform.training.splits import holdout_split, walk_forward_folds
from btc_platform.training.trainer import train
from btc_platform.training.tuning import PRUNE_AFTER, Fold, StandardizedRows, tune
from btc_platform_tests.candle_factory import market_candles


def candles_with_closes(closes: list[float], trade_count: list[int] | None = None) -> pd.DataFrame:
    frame = pd.DataFrame(
        {
            "window_start": pd.date_range("2025-01-01", periods=len(closes), freq="60s"),
            "close": closes,
        }
    )
    if trade_count is not None:
        frame["trade_count"] = trade_count
    return frame


def dataset_of(candles: pd.DataFrame, horizon_minutes: int = 5):
    return build_training_set(
        compute_features(candles, 60), candles, CANDLE_FEATURES, "BTC/USD", 60, horizon_minutes
    )


def test_target_is_the_forward_log_return_over_the_horizon():
    candles = candles_with_closes([100.0, 101.0, 102.0, 103.0, 104.0])
    target = forward_log_return(candles, horizon_minutes=2, interval_seconds=60)
    np.testing.assert_allclose(
        target.to_numpy()[:3], np.log([102 / 100, 103 / 101, 104 / 102]), rtol=1e-15
    )
    assert target.iloc[3:].isna().all()


def test_forward_variance_sums_the_squared_one_candle_returns_over_the_horizon():
    closes = [100.0, 101.0, 99.0, 102.0, 102.0]
    variance = forward_variance(candles_with_closes(closes), horizon_minutes=2, interval_seconds=60)
    steps = np.diff(np.log(closes))
    np.testing.assert_allclose(
        variance.to_numpy()[:3],
        [steps[0] ** 2 + steps[1] ** 2, steps[1] ** 2 + steps[2] ** 2, steps[2] ** 2 + 0.0],
        rtol=1e-12,
    )
    assert variance.iloc[3:].isna().all()


def test_a_missing_candle_gives_no_target_rather_than_a_wrong_one():
    candles = candles_with_closes([100.0, 101.0, 102.0, 103.0]).drop(index=2)
    target = forward_log_return(candles, horizon_minutes=2, interval_seconds=60)
    assert np.isnan(target.iloc[0])  # 00:02 is missing
    assert target.iloc[1] == pytest.approx(np.log(103 / 101))
    assert forward_variance(candles, 2, 60).isna().iloc[:2].all()


def test_no_target_reaches_into_an_outage():
    """A row whose horizon ends in a run of empty windows has no target: its close there
    only carries the last trade's price forward."""
    closes = [100.0, 101.0] + [101.0] * OUTAGE_WINDOWS + [105.0]
    counts = [5, 5] + [0] * OUTAGE_WINDOWS + [5]
    target = forward_log_return(candles_with_closes(closes, counts), 2, 60)
    assert target.iloc[:2].isna().all()
    quiet_counts = [5, 5] + [0] * (OUTAGE_WINDOWS - 1) + [5]  # one empty window fewer: a quiet
    quiet = forward_log_return(candles_with_closes(closes[:-1], quiet_counts), 2, 60)
    assert quiet.iloc[1] == 0.0  # market, whose price did not move


def test_the_holdout_is_the_most_recent_window_after_a_purge_gap():
    split = holdout_split(100, 0.2, purge=5)
    assert (split.train, split.test) == (slice(0, 75), slice(80, 100))
    with pytest.raises(ValueError, match="10 rows are too few for a holdout of 50%"):
        holdout_split(10, 0.5, purge=5)


@pytest.mark.parametrize("horizon_minutes", [1, 5, 15])
def test_no_training_target_reaches_into_its_test_window(horizon_minutes):
    """Purge test: a training row's target ends before the first test row's candle closes."""
    dataset = dataset_of(market_candles(2_400, seed=5), horizon_minutes)
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


def test_the_median_guard_keeps_a_p50_only_where_it_beats_zero_return_significantly():
    rng = np.random.default_rng(1)
    actual = [rng.normal(0, 1, 500) for _ in range(3)]

    def forecast(median: np.ndarray) -> np.ndarray:
        return np.column_stack([median - 1, median, median + 1])

    noise = [(a, forecast(rng.normal(0, 0.5, 500))) for a in actual]
    guard = choose_median_shrink(noise, lag=5)
    assert guard.shrink == 0.0 and guard.describe().startswith("p50 set to zero return")
    signal = [(a, forecast(0.8 * a + rng.normal(0, 0.3, 500))) for a in actual]
    kept = choose_median_shrink(signal, lag=5)
    assert kept.shrink == 1.0 and kept.mae_skill > 0.3 and kept.t_stat > 2
    # a weak signal drowned in noise: shrunk toward zero, not taken at face value
    weak = [(a, forecast(0.1 * a + rng.normal(0, 1.0, 500))) for a in actual]
    assert choose_median_shrink(weak, lag=5).shrink < 1.0


def test_the_guards_t_accounts_for_overlapping_horizons():
    rng = np.random.default_rng(2)
    values = rng.normal(0.1, 1, 400)
    gain = np.repeat(values, 5)  # each value repeated: 5-row overlap
    naive = gain.mean() / np.sqrt(gain.var() / len(gain))
    t_stat, bandwidth = gain_t(gain, 5)
    assert bandwidth >= 5 and t_stat < 0.6 * naive
    # about the t of the 400 independent values themselves
    assert t_stat == pytest.approx(values.mean() / np.sqrt(values.var() / 400), rel=0.25)


SMALL_SPACE = SearchSpace(n_estimators=(20, 60), max_depth=(2, 4))


@pytest.fixture(scope="module")
def trained():
    candles = market_candles(5_000, seed=11, autocorrelation=0.7)
    dataset = dataset_of(candles)
    return dataset, train(dataset, TrainingConfig(trials=2, seed=7, space=SMALL_SPACE))


def test_the_same_seed_gives_the_same_model(trained):
    dataset, first = trained
    second = train(dataset, TrainingConfig(trials=2, seed=7, space=SMALL_SPACE))
    assert first.params == second.params
    np.testing.assert_array_equal(first.holdout_forecast, second.holdout_forecast)
    other = train(dataset, TrainingConfig(trials=2, seed=8, space=SMALL_SPACE))
    # the first trial is the space's starting point; the next one is the seed's own
    assert other.trials[0].params == first.trials[0].params == SMALL_SPACE.starting_point()
    assert other.trials[1].params != first.trials[1].params
    # quantiles never cross
    assert (np.diff(first.holdout_forecast, axis=1) >= 0).all()


def test_a_planted_autocorrelation_is_kept_in_the_p50_and_the_band_beats_both_baselines(trained):
    _, model = trained
    assert model.forecaster.median_shrink > 0
    skills = model.evaluation.skills
    assert skills["mae_bps_skill"] > 0.01
    assert skills["pinball_skill_vol_scaled"] > 0 and skills["pinball_skill_static"] > 0
    assert 0.7 < model.evaluation.model["band_coverage"] < 0.9


def test_the_forecaster_saves_loads_and_predicts_one_row_as_it_predicts_many(trained, tmp_path):
    dataset, model = trained
    holdout = dataset.frame.iloc[model.holdout.test]
    served = model.forecaster.predict(holdout)  # refit on every row: not the holdout's model
    assert not np.allclose(served, model.holdout_forecast)
    model.forecaster.save(tmp_path / "forecaster")
    loaded = Forecaster.load(tmp_path / "forecaster")
    np.testing.assert_allclose(loaded.predict(holdout), served, rtol=1e-12)
    columns = list(dataset.frame.columns.drop("window_start"))
    bound = loaded.bind(columns)
    row = holdout[columns].iloc[7].to_numpy(dtype=float)
    np.testing.assert_allclose(bound.quantiles(row), served[7], rtol=1e-12)
    with pytest.raises(ValueError, match="features missing for this model: vol_ref"):
        loaded.bind(columns[1:])


def test_hopeless_trials_are_pruned_after_their_first_folds_and_never_chosen():
    rng = np.random.default_rng(4)

    def rows(n: int) -> StandardizedRows:
        inputs = rng.standard_normal((n, 4))
        target = 0.3 * inputs[:, 0] + rng.standard_normal(n)
        return StandardizedRows(inputs, np.ones(n), target)

    folds = [Fold(rows(n), rows(300)) for n in (600, 900, 1200)]
    space = SearchSpace(n_estimators=(10, 40))
    result = tune(folds, space=space, trials=16, seed=2, threads=1)
    pruned = [t for t in result.trials if t.pruned]
    complete = [t for t in result.trials if not t.pruned]
    assert len(result.trials) == 16 and pruned and len(complete) >= PRUNE_AFTER
    assert all(len(t.fold_losses) < len(folds) for t in pruned)
    assert all(len(t.fold_losses) == len(folds) for t in complete)
    assert result.best == min(complete, key=lambda t: t.cv_pinball_loss)
    assert len(result.out_of_fold) == len(folds)
    again = tune(folds, space=space, trials=16, seed=2, threads=1)
    assert [t.pruned for t in again.trials] == [t.pruned for t in result.trials]
