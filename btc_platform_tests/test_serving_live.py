"""The service's live side in-process: parity with the offline features, warm-up and
handoff from the offline store, stale features. Real broker, real DuckDB."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from btc_platform.candles import candles_from_trades
from btc_platform.drain import drain
from btc_platform.features.compute import FEATURES, compute_features, feature_set_for
from btc_platform.pair_horizon import PairHorizon
from btc_platform.serving.champion import ServedModel
from btc_platform.serving.live_candles import LIVE_CANDLE_COLUMNS, PairCandles
from btc_platform.serving.runtime import HISTORY, REPLAYED, LiveRuntime, NotServed, Unavailable
from btc_platform.serving.trade_follower import decode
from btc_platform.settings import load_settings
from btc_platform.store.feature_store import read_features, refresh_features
from btc_platform.store.store_connection import open_store
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import build_training_set
from btc_platform.training.search_space import SearchSpace
from btc_platform.training.trainer import train
from btc_platform_tests.conftest import HOLD_WRITE_LOCK
from btc_platform_tests.polling import wait_until
from btc_platform_tests.serving_helpers import market, publish_trades

PAIR = "BTC/USD"
TARGET = PairHorizon(PAIR, 5)


@pytest.fixture
def settings(model_settings, broker, monkeypatch):
    monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
    return load_settings()


# More final candles than the warm-up needs, and more than the live state keeps.
HOURS = (HISTORY + 60) / 60


@pytest.fixture(scope="module")
def trades():
    """A day of market up to a minute ago."""
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    return market(end - timedelta(hours=HOURS), end)


def offline_candles(settings) -> pd.DataFrame:
    with open_store(settings.offline_store) as connection:
        return connection.execute(
            f"SELECT {', '.join(LIVE_CANDLE_COLUMNS)} FROM candles"
            " WHERE pair = ? AND final ORDER BY window_start",
            [PAIR],
        ).df()


def caught_up(runtime: LiveRuntime, last_window) -> bool:
    """The runtime's newest final candle is `last_window` and its features are computed (a
    candle is appended a moment before its features)."""
    candles, latest = runtime.candles.get(PAIR), runtime.latest.get(PAIR)
    return bool(
        candles
        and candles.final
        and candles.final[-1][0] == last_window
        and latest is not None
        and latest.window_start == last_window
    )


def started(settings, topics) -> LiveRuntime:
    runtime = LiveRuntime(settings, topics)
    runtime.start()
    return runtime


def test_live_features_equal_the_offline_features_asset(settings, topics, trades, tmp_path):
    publish_trades(settings.kafka_bootstrap, topics, tmp_path / "spool.jsonl", trades)
    drain(settings.kafka_bootstrap, tmp_path / "offline-copy.duckdb", topics.trades, 60)
    offline_settings = load_settings(duckdb_path=tmp_path / "offline-copy.duckdb")
    stored = offline_candles(offline_settings)
    runtime = started(settings, topics)  # its own data dir has no store: Kafka from offset 0
    try:
        wait_until(lambda: caught_up(runtime, stored["window_start"].iloc[-1]), 60, "live candles")
        live = runtime.candles[PAIR].candles()
        latest = runtime.latest[PAIR]
    finally:
        runtime.stop()

    # Candles: the live ones are the drain's, row for row.
    expected = stored.iloc[-len(live) :].reset_index(drop=True)
    pd.testing.assert_frame_equal(live, expected, check_dtype=False, rtol=1e-12)
    # Features: the service's equal the offline `features` asset's, to float tolerance.
    with open_store(offline_settings.offline_store) as connection:
        refresh_features(connection, PAIR, 60)
        offline = read_features(connection, PAIR, 60).set_index("window_start")
    assert latest.window_start == stored["window_start"].iloc[-1]
    np.testing.assert_allclose(
        latest.values, offline.loc[latest.window_start].to_numpy(), rtol=1e-8, atol=1e-9
    )
    recomputed = compute_features(live, 60).set_index("window_start")
    assert len(recomputed) == len(live) - FEATURES.warmup_candles
    pd.testing.assert_frame_equal(
        recomputed, offline.loc[recomputed.index], rtol=1e-8, atol=1e-9, check_freq=False
    )


def test_a_restart_warms_up_from_the_store_and_hands_over_to_kafka(
    settings, topics, trades, tmp_path
):
    half = len(trades) // 2
    publish_trades(settings.kafka_bootstrap, topics, tmp_path / "spool.jsonl", trades[:half])
    drain(settings.kafka_bootstrap, settings.offline_store, topics.trades, 60)
    publish_trades(settings.kafka_bootstrap, topics, tmp_path / "spool.jsonl", trades[half:])
    # The drain's offsets are where the restarted service hands over to Kafka; a replayed
    # duplicate of an already-stored trade must change nothing either.
    publish_trades(
        settings.kafka_bootstrap, topics, tmp_path / "spool.jsonl", trades[half : half + 50]
    )
    never_restarted = load_settings(data_dir=tmp_path / "never-restarted")
    drain(settings.kafka_bootstrap, tmp_path / "all.duckdb", topics.trades, 60)
    last = offline_candles(load_settings(duckdb_path=tmp_path / "all.duckdb"))["window_start"].iloc[
        -1
    ]

    restarted, continuous = started(settings, topics), started(never_restarted, topics)
    try:
        for runtime in (restarted, continuous):
            wait_until(lambda r=runtime: caught_up(r, last), 60, "live candles")
        # Equal up to the last bits a different summation order leaves (a volume summed by
        # the drain vs live): no trade skipped, none counted twice.
        pd.testing.assert_frame_equal(
            restarted.candles[PAIR].candles(), continuous.candles[PAIR].candles(), rtol=1e-12
        )
        np.testing.assert_allclose(
            restarted.latest[PAIR].values, continuous.latest[PAIR].values, rtol=1e-12
        )
        assert restarted.latest[PAIR].window_start == last
    finally:
        restarted.stop()
        continuous.stop()


def test_stale_features_and_unknown_pairs_are_refused(settings, topics, tmp_path, quick_model):
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    old = market(end - timedelta(hours=HOURS), end, seed=5)
    publish_trades(settings.kafka_bootstrap, topics, tmp_path / "spool.jsonl", old)
    runtime = started(settings, topics)
    runtime.champions[TARGET].current = quick_model
    try:
        wait_until(lambda: PAIR in runtime.latest, 60, "live features")
        with pytest.raises(
            Unavailable,
            match=r"features for BTC/USD are stale \(\d+ candles behind\): the newest "
            r"closed candle ended \d+ s ago \(limit 300 s",
        ):
            runtime.predict(TARGET)
        with pytest.raises(NotServed, match=r"^pair: ETH/USD is not served \(BTC_PAIRS: BTC/USD\)"):
            runtime.target("ETH/USD")
        with pytest.raises(
            NotServed, match=r"^horizon_minutes: 15 is not served \(BTC_HORIZONS: 5\)$"
        ):
            runtime.target(PAIR, 15)
        assert runtime.target(PAIR) == runtime.target(PAIR, 5) == TARGET
    finally:
        runtime.stop()


def test_too_little_history_is_unavailable_with_the_count(settings, topics, tmp_path, quick_model):
    end = datetime.now(UTC).replace(second=0, microsecond=0)
    publish_trades(
        settings.kafka_bootstrap,
        topics,
        tmp_path / "spool.jsonl",
        market(end - timedelta(minutes=30), end),
    )
    runtime = started(settings, topics)
    try:
        wait_until(
            lambda: len(getattr(runtime.candles.get(PAIR), "final", ())) >= 25, 60, "candles"
        )
        # without a champion that is the reason that matters, whatever the history
        no_champion = "btc-price-BTC-USD-5m has no champion yet"
        wait_until(lambda: runtime.champions[TARGET].problem == no_champion, 60, "a registry look")
        with pytest.raises(Unavailable, match=rf"^{no_champion}$"):
            runtime.predict(TARGET)
        assert runtime.not_ready_reason() == no_champion
        runtime.champions[TARGET].current = quick_model
        history = rf"not enough live history for BTC/USD yet: \d+ of {FEATURES.warmup_candles + 1}"
        with pytest.raises(Unavailable, match=history):
            runtime.predict(TARGET)
        assert re.match(history, runtime.not_ready_reason())
    finally:
        runtime.stop()


def test_warm_up_waits_for_a_writer_to_release_the_store(
    settings, topics, trades, tmp_path, quick_model
):
    publish_trades(settings.kafka_bootstrap, topics, tmp_path / "spool.jsonl", trades[:5_000])
    drain(settings.kafka_bootstrap, settings.offline_store, topics.trades, 60)
    # Another process holds the file read-write, as a drain run does, for 4 s.
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(settings.offline_store)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "locked"
    runtime = started(settings, topics)
    runtime.champions[TARGET].current = quick_model
    try:
        time.sleep(2)
        assert not runtime.warmed_up
        with pytest.raises(Unavailable, match="warming up from the offline store"):
            runtime.predict(TARGET)
        assert writer.wait(10) == 0
        wait_until(lambda: runtime.warmed_up, 10, "the warm-up after the writer left")
        stored = offline_candles(settings)
        assert runtime.candles[PAIR].final[-1][0] == stored["window_start"].iloc[-1]
    finally:
        writer.kill()
        runtime.stop()


def test_a_drain_killed_mid_batch_during_the_warm_up_loses_and_doubles_nothing(
    settings, topics, trades, tmp_path
):
    publish_trades(settings.kafka_bootstrap, topics, tmp_path / "spool.jsonl", trades)
    drain(settings.kafka_bootstrap, tmp_path / "clean.duckdb", topics.trades, 60)
    clean = offline_candles(load_settings(duckdb_path=tmp_path / "clean.duckdb"))
    # A drain dies inside its third write (two batches committed) as the service starts.
    args = [settings.kafka_bootstrap, settings.offline_store, topics.trades, "mid-batch", 3, 4]
    crashing = subprocess.Popen(
        [sys.executable, "-m", "btc_platform_tests.crashing_drain", *map(str, args), "5000"]
    )
    runtime = started(settings, topics)
    from_kafka = started(load_settings(data_dir=tmp_path / "from-kafka"), topics)
    try:
        assert crashing.wait(120) == -9
        last = clean["window_start"].iloc[-1]
        for each in (runtime, from_kafka):
            wait_until(lambda r=each: caught_up(r, last), 120, "live candles")
        pd.testing.assert_frame_equal(
            runtime.candles[PAIR].candles(), from_kafka.candles[PAIR].candles(), rtol=1e-12
        )
    finally:
        crashing.kill()
        runtime.stop()
        from_kafka.stop()
    # and the next drain finishes the store where the killed one left it
    drain(settings.kafka_bootstrap, settings.offline_store, topics.trades, 60)
    pd.testing.assert_frame_equal(offline_candles(settings), clean)


def test_a_trade_sent_twice_in_one_batch_counts_once():
    trades = market(datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 1, 0, 10, tzinfo=UTC))
    frame, _ = decode([t.to_json() for t in trades], duckdb.connect())
    once, twice = PairCandles(PAIR, 60, 100), PairCandles(PAIR, 60, 100)
    once.add(frame)
    twice.add(pd.concat([frame, frame.iloc[: len(frame) // 2]], ignore_index=True))
    pd.testing.assert_frame_equal(once.candles(), twice.candles())
    assert len(once.final) >= 8


@pytest.fixture(scope="module")
def quick_model() -> ServedModel:
    """A champion trained in-process on the synthetic market's own candles."""
    start = datetime(2026, 3, 1, tzinfo=UTC)
    history = market(start, start + timedelta(hours=HOURS + 12), seed=9)
    frame, _ = decode([t.to_json() for t in history], duckdb.connect())
    candles = candles_from_trades(frame, 60)
    candles = candles[candles["final"]]
    features = compute_features(candles, 60)
    dataset = build_training_set(features, candles, feature_set_for(features), PAIR, 60, 5)
    config = TrainingConfig(trials=1, cv_folds=2, space=SearchSpace(n_estimators=(30, 30)))
    forecaster = train(dataset, config).forecaster
    return ServedModel("btc-price-BTC-USD-5m", "1", forecaster.bind(FEATURES.columns))


def test_a_backlog_in_one_batch_gives_what_one_poll_at_a_time_gives(settings, quick_model):
    """The bulk catch-up (a backlog handed on at once) and the per-candle path agree:
    candles, features, forecasts and the live calibration."""
    end = datetime(2026, 3, 2, tzinfo=UTC)
    trades = market(end - timedelta(hours=HOURS), end, seed=9)
    frame, _ = decode([t.to_json() for t in trades], duckdb.connect())
    runtimes = []
    for batches in (1, 400):
        runtime = LiveRuntime(settings)
        runtime.candles[PAIR] = PairCandles(PAIR, 60, HISTORY)
        runtime.champions[TARGET].current = quick_model
        for part in np.array_split(np.arange(len(frame)), batches):
            runtime.on_trades(frame.iloc[part])
        runtimes.append(runtime)
    bulk, polled = runtimes
    pd.testing.assert_frame_equal(bulk.candles[PAIR].candles(), polled.candles[PAIR].candles())
    np.testing.assert_allclose(
        bulk.latest[PAIR].values, polled.latest[PAIR].values, rtol=1e-9, atol=1e-9
    )
    b, p = bulk.forecasts[TARGET], polled.forecasts[TARGET]
    assert len(b.recent) == len(p.recent) == REPLAYED
    for one, other in zip(b.recent, p.recent, strict=True):
        assert one.point.as_of == other.point.as_of
        np.testing.assert_allclose(one.quantiles, other.quantiles, rtol=1e-9)
    assert b.calibration.theta == pytest.approx(p.calibration.theta, abs=1e-12)
    assert b.calibration.outcomes > 0
