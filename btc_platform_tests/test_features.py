"""Features: the set's columns, no look-ahead, warm-up, holes and outages, scale-free,
order flow where the candles have it, the estimators on known numbers, incremental store."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from btc_platform.features.compute import (
    CANDLE_FEATURES,
    FEATURES,
    FLOW_FEATURES,
    compute_features,
    feature_set_for,
)
from btc_platform.features.order_flow import ORDER_FLOW_COLUMNS
from btc_platform.features.segments import OUTAGE_WINDOWS
from btc_platform.features.volatility import exp_window_mean
from btc_platform.store import feature_store
from btc_platform.store.feature_store import read_features, refresh_features
from btc_platform.store.store_connection import open_store
from btc_platform.store.upsert import upsert
from btc_platform_tests.candle_factory import market_candles, store_candles

WARMUP = FEATURES.warmup_candles
CANDLE_ONLY = list(CANDLE_FEATURES.columns)


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return market_candles(3_000, seed=3)


@pytest.fixture(scope="module")
def full(candles) -> pd.DataFrame:
    return compute_features(candles, 60).set_index("window_start")


def test_columns_are_the_feature_set_and_warm_up_rows_are_dropped(candles, full):
    assert list(full.columns) == list(FEATURES.columns)
    assert full.index[0] == candles["window_start"].iloc[WARMUP]
    assert len(full) == len(candles) - WARMUP
    assert full[CANDLE_ONLY].notna().all().all()
    # the factory's candles carry trade counts but no buy volume: imbalances are unknown
    imbalances = [c for c in ORDER_FLOW_COLUMNS if "imbalance" in c]
    assert full[imbalances].isna().all().all()
    assert full["trade_count_ratio_15_240"].notna().all()


@pytest.mark.parametrize("cut", [WARMUP + 1, 1_700, 2_500])
def test_features_on_a_prefix_equal_those_on_the_whole_history(candles, full, cut):
    prefix = compute_features(candles.iloc[:cut], 60).set_index("window_start")
    pd.testing.assert_frame_equal(prefix, full.loc[prefix.index], rtol=1e-12)


def test_features_from_the_warm_up_window_alone_equal_those_of_the_whole_history(candles, full):
    """What the live service and the incremental store rely on: a row needs only the
    `warmup_candles` before it."""
    for end in (1_500, 2_999):
        window = compute_features(candles.iloc[end - WARMUP : end + 1], 60)
        assert len(window) == 1
        row = window.set_index("window_start").iloc[0]
        pd.testing.assert_series_equal(row, full.loc[row.name], rtol=1e-9, atol=1e-12)


def test_changing_candles_after_t_changes_nothing_at_t(candles, full):
    t = candles["window_start"].iloc[1_800]
    later = candles["window_start"] > t
    changed = candles.copy()
    for column in ("open", "high", "low", "close"):
        changed.loc[later, column] *= 1.5
    changed.loc[later, "volume"] *= 40
    after = compute_features(changed, 60).set_index("window_start")
    pd.testing.assert_frame_equal(after.loc[:t], full.loc[:t], rtol=1e-12)
    assert not np.allclose(
        after.loc[t:, CANDLE_ONLY].iloc[1:].to_numpy(),
        full.loc[t:, CANDLE_ONLY].iloc[1:].to_numpy(),
    )


def test_a_missing_window_starts_a_new_warm_up(candles, full):
    holed = candles.drop(index=1_500)
    features = compute_features(holed, 60).set_index("window_start")
    before = candles["window_start"].iloc[1_499]
    pd.testing.assert_frame_equal(features.loc[:before], full.loc[:before], rtol=1e-12)
    assert features.index[features.index > before].size == len(candles) - 1_501 - WARMUP


def test_a_long_run_without_trades_is_an_outage_not_a_quiet_market(candles, full):
    """Candles that only carry the last close forward for an hour are a hole in the feed."""
    outage = candles.copy()
    flat = outage.index[1_500 : 1_500 + OUTAGE_WINDOWS]
    close = outage.loc[1_499, "close"]
    outage.loc[flat, ["open", "high", "low", "close"]] = close
    outage.loc[flat, ["volume", "trade_count"]] = 0
    features = compute_features(outage, 60).set_index("window_start")
    before = candles["window_start"].iloc[1_499]
    pd.testing.assert_frame_equal(features.loc[:before], full.loc[:before], rtol=1e-12)
    # decided with what was known at each window: a quiet market until the run reaches
    # OUTAGE_WINDOWS, then a hole from which the features warm up again
    window = candles["window_start"]
    after = features.index[features.index > before]
    assert list(after[: OUTAGE_WINDOWS - 1]) == list(window.iloc[1_500 : 1_499 + OUTAGE_WINDOWS])
    resumed = window.iloc[1_500 + OUTAGE_WINDOWS + WARMUP]
    assert after[OUTAGE_WINDOWS - 1] == resumed
    # no window's features depend on a later one: cut inside the run, nothing changes
    cut = compute_features(outage.iloc[:1_530], 60).set_index("window_start")
    pd.testing.assert_frame_equal(cut, features.loc[: window.iloc[1_529]], rtol=1e-12)
    shorter = candles.copy()  # one empty window fewer: a quiet market, features go on
    quiet = flat[:-1]
    shorter.loc[quiet, ["open", "high", "low", "close"]] = close
    shorter.loc[quiet, ["volume", "trade_count"]] = 0
    assert len(compute_features(shorter, 60)) == len(full)


def test_features_do_not_depend_on_the_price_level_nor_the_volume_unit(candles, full):
    scaled = candles.copy()
    for column in ("open", "high", "low", "close"):
        scaled[column] *= 3.0
    scaled["volume"] *= 1_000
    features = compute_features(scaled, 60).set_index("window_start")
    pd.testing.assert_frame_equal(
        features.drop(columns=["vol_ref", "realized_vol_60"]),
        full.drop(columns=["vol_ref", "realized_vol_60"]),
        rtol=1e-6,
        atol=1e-8,
    )
    # the volatilities are of log returns: the level does not change them either
    np.testing.assert_allclose(features["vol_ref"], full["vol_ref"], rtol=1e-9)


def test_order_flow_features_from_candles_built_from_trades(candles):
    flow = candles.copy()
    rng = np.random.default_rng(0)
    flow["buy_volume"] = flow["volume"] * rng.uniform(0, 1, len(flow))
    flow["buy_count"] = (flow["trade_count"] * 0.5).round().astype("int64")
    features = compute_features(flow, 60)
    assert features[list(FLOW_FEATURES.columns)].notna().all().all()
    assert feature_set_for(features) is FLOW_FEATURES
    assert feature_set_for(compute_features(candles, 60)) is CANDLE_FEATURES
    last = flow.tail(5)
    expected = (2 * last["buy_volume"].sum() - last["volume"].sum()) / last["volume"].sum()
    assert features["buy_volume_imbalance_5"].iloc[-1] == pytest.approx(expected, rel=1e-12)
    assert features["buy_volume_imbalance_5"].between(-1, 1).all()


def test_the_volatility_estimators_on_known_numbers():
    values = np.arange(1.0, 11.0)
    weights = 0.5 ** (np.arange(4) / 2.0)
    expected = [np.dot(values[i - 3 : i + 1][::-1], weights) / weights.sum() for i in range(3, 10)]
    np.testing.assert_allclose(exp_window_mean(values, 2, 4)[3:], expected, rtol=1e-12)
    assert np.isnan(exp_window_mean(values, 2, 4)[:3]).all()
    # a market moving exactly 1 bp a candle, up and down, with a 2 bp range each candle
    n = 1_200
    close = 100 * np.exp(np.cumsum(np.where(np.arange(n) % 2, 1e-4, -1e-4)))
    open_ = np.concatenate([[100.0], close[:-1]])
    frame = pd.DataFrame(
        {
            "window_start": pd.date_range("2025-01-01", periods=n, freq="60s"),
            "open": open_,
            "high": np.maximum(open_, close) * np.exp(0.5e-4),
            "low": np.minimum(open_, close) * np.exp(-0.5e-4),
            "close": close,
            "volume": 1.0,
        }
    )
    row = compute_features(frame, 60).iloc[-1]
    # rms and every exponential estimator: 1 bp; Parkinson: range 2 bp / sqrt(4 ln 2)
    parkinson = 2e-4 / np.sqrt(4 * np.log(2))
    reference = np.exp((3 * np.log(1e-4) + np.log(parkinson)) / 4)
    assert row["vol_ref"] == pytest.approx(reference, rel=1e-6)
    assert row["lv_rms_60"] == pytest.approx(np.log(1e-4 / reference), abs=1e-6)
    assert row["lv_parkinson_240"] == pytest.approx(np.log(parkinson / reference), abs=1e-6)
    assert row["realized_vol_60"] == pytest.approx(1e-4 * np.sqrt(60 / 59), rel=1e-6)
    assert abs(row["z_return_60"]) < 1e-9  # 60 moves of +-1 bp come back to where they were


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="candles lack column\\(s\\) high, volume"):
        compute_features(pd.DataFrame(columns=["window_start", "open", "low", "close"]), 60)


def test_incremental_refresh_in_duckdb_equals_one_computation(candles, full, tmp_path):
    store = tmp_path / "offline.duckdb"
    store_candles(store, candles.iloc[:1_600])
    with open_store(store) as connection:
        assert refresh_features(connection, "BTC/USD", 60) == 1_600 - WARMUP
        assert refresh_features(connection, "BTC/USD", 60) == 0
    store_candles(store, candles.iloc[1_600:])
    with open_store(store) as connection:
        assert refresh_features(connection, "BTC/USD", 60) == len(candles) - 1_600
        stored = read_features(connection, "BTC/USD", 60).set_index("window_start")
    # Rows after the first batch were computed from a window of warm-up candles, not the
    # whole history: equal to float tolerance, as the warm-up promises.
    pd.testing.assert_frame_equal(stored, full, rtol=1e-8, atol=1e-9, check_freq=False)


def test_a_refresh_whose_commit_conflicts_runs_again_and_stores_its_rows_once(
    candles, full, tmp_path, monkeypatch
):
    store = tmp_path / "offline.duckdb"
    store_candles(store, candles.iloc[:1_600])
    tries = []

    def upsert_then_lose(*args, **kwargs) -> int:  # another writer's commit won the first try
        written = upsert(*args, **kwargs)
        tries.append(written)
        if len(tries) == 1:
            raise duckdb.TransactionException("Transaction conflict: another writer committed")
        return written

    monkeypatch.setattr(feature_store, "upsert", upsert_then_lose)
    with open_store(store) as connection:
        assert refresh_features(connection, "BTC/USD", 60) == 1_600 - WARMUP
        stored = read_features(connection, "BTC/USD", 60).set_index("window_start")
    assert tries == [1_600 - WARMUP] * 2  # the first try's rows were rolled back, not kept
    expected = full.iloc[: 1_600 - WARMUP]
    pd.testing.assert_frame_equal(stored, expected, rtol=1e-8, atol=1e-9, check_freq=False)


def test_candles_that_are_not_final_get_no_features(candles, tmp_path):
    store = tmp_path / "offline.duckdb"
    open_last = candles.copy()
    open_last.loc[open_last.index[-5:], "final"] = False
    store_candles(store, open_last)
    with open_store(store) as connection:
        assert refresh_features(connection, "BTC/USD", 60) == len(candles) - WARMUP - 5


def direct_ewma(values: np.ndarray, end: int, halflife: int, window: int) -> float:
    """The exponentially weighted mean of values[end - window + 1 .. end], weights halving
    every `halflife` values back from `end`, written out term by term."""
    weights = 0.5 ** (np.arange(window) / halflife)
    recent = values[end - window + 1 : end + 1][::-1]
    return float(weights @ recent / weights.sum())


def test_the_ewma_blend_equals_a_direct_computation(candles, full):
    """sigma = mean(EWMA RMS of one-minute log returns, half-lives 5, 30, 120; sqrt of the
    half-life-30 EWMA of the Parkinson variance), at a row well past the warm-up."""
    frame = candles.reset_index(drop=True)
    log_returns = np.log(frame["close"]).diff().to_numpy()
    parkinson = (np.log(frame["high"] / frame["low"]) ** 2 / (4 * np.log(2))).to_numpy()
    for row in (2_000, len(frame) - 1):
        expected = (
            np.sqrt(direct_ewma(log_returns**2, row, 5, 60))
            + np.sqrt(direct_ewma(log_returns**2, row, 30, 240))
            + np.sqrt(direct_ewma(log_returns**2, row, 120, 960))
            + np.sqrt(direct_ewma(parkinson, row, 30, 240))
        ) / 4
        at = full.loc[frame["window_start"].iloc[row], "ewma_blend_vol"]
        assert at == pytest.approx(expected, rel=1e-9)
