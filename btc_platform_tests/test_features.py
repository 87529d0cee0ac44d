"""Features: the set's columns, no look-ahead, warm-up, gaps, scale-free, incremental store."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from btc_platform.features.indicators import FEATURES, compute_features
from btc_platform.store.feature_store import read_features, refresh_features
from btc_platform.store.offline_store import open_store
from btc_platform_tests.candle_factory import market_candles, store_candles

WARMUP = FEATURES.warmup_candles


@pytest.fixture(scope="module")
def candles() -> pd.DataFrame:
    return market_candles(1_500, seed=3)


@pytest.fixture(scope="module")
def full(candles) -> pd.DataFrame:
    return compute_features(candles, 60).set_index("window_start")


def test_columns_are_the_feature_set_and_warm_up_rows_are_dropped(candles, full):
    assert list(full.columns) == list(FEATURES.columns)
    assert full.index[0] == candles["window_start"].iloc[WARMUP]
    assert len(full) == len(candles) - WARMUP
    assert full.notna().all().all()


@pytest.mark.parametrize("cut", [WARMUP + 1, 700, 1_234])
def test_features_on_a_prefix_equal_those_on_the_whole_history(candles, full, cut):
    prefix = compute_features(candles.iloc[:cut], 60).set_index("window_start")
    pd.testing.assert_frame_equal(prefix, full.loc[prefix.index], rtol=1e-12)


def test_changing_candles_after_t_changes_nothing_at_t(candles, full):
    t = candles["window_start"].iloc[900]
    later = candles["window_start"] > t
    changed = candles.copy()
    for column in ("open", "high", "low", "close"):
        changed.loc[later, column] *= 1.5
    changed.loc[later, "volume"] *= 40
    after = compute_features(changed, 60).set_index("window_start")
    pd.testing.assert_frame_equal(after.loc[:t], full.loc[:t], rtol=1e-12)
    assert not np.allclose(after.loc[t:].iloc[1:].to_numpy(), full.loc[t:].iloc[1:].to_numpy())


def test_a_missing_window_starts_a_new_warm_up(candles, full):
    holed = candles.drop(index=1_000)
    features = compute_features(holed, 60).set_index("window_start")
    before = candles["window_start"].iloc[999]
    pd.testing.assert_frame_equal(features.loc[:before], full.loc[:before], rtol=1e-12)
    assert features.index[features.index > before].size == len(candles) - 1_001 - WARMUP


def test_features_do_not_depend_on_the_price_level(candles, full):
    scaled = candles.copy()
    for column in ("open", "high", "low", "close"):
        scaled[column] *= 3.0
    features = compute_features(scaled, 60).set_index("window_start")
    pd.testing.assert_frame_equal(features, full, rtol=1e-7, atol=1e-9)


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="candles lack column\\(s\\) high, volume"):
        compute_features(pd.DataFrame(columns=["window_start", "open", "low", "close"]), 60)


def test_incremental_refresh_in_duckdb_equals_one_computation(candles, full, tmp_path):
    store = tmp_path / "offline.duckdb"
    store_candles(store, candles.iloc[:800])
    with open_store(store) as connection:
        assert refresh_features(connection, "BTC/USD", 60) == 800 - WARMUP
        assert refresh_features(connection, "BTC/USD", 60) == 0
    store_candles(store, candles.iloc[800:])
    with open_store(store) as connection:
        assert refresh_features(connection, "BTC/USD", 60) == len(candles) - 800
        stored = read_features(connection, "BTC/USD", 60).set_index("window_start")
    # Rows after the first batch were computed from a window of warm-up candles, not the
    # whole history: equal to float tolerance, as the warm-up promises.
    pd.testing.assert_frame_equal(stored, full, rtol=1e-8, atol=1e-9, check_freq=False)


def test_candles_that_are_not_final_get_no_features(candles, tmp_path):
    store = tmp_path / "offline.duckdb"
    open_last = candles.copy()
    open_last.loc[open_last.index[-5:], "final"] = False
    store_candles(store, open_last)
    with open_store(store) as connection:
        assert refresh_features(connection, "BTC/USD", 60) == len(candles) - WARMUP - 5
