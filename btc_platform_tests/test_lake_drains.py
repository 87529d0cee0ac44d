"""Several drains at once on a DuckLake store: exactly the trades and candles one drain gives."""

from __future__ import annotations

import asyncio
import random
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest

from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.drain import drain
from btc_platform.ingest.synthetic import synthetic_trades
from btc_platform.serving.warm_start import read_warm_start
from btc_platform.store.feature_store import refresh_features
from btc_platform.store.store_connection import open_store
from btc_platform_tests.conftest import HOLD_LAKE_WRITE, SEEDED_START, lake_location, seed_store
from btc_platform_tests.crashing_drain import crash_drain
from btc_platform_tests.test_drain import collect, publish_trades

START = datetime(2026, 3, 1, tzinfo=UTC)
PAIRS = ["BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD"]
PARTITIONS = 4


def tables(store) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    with open_store(store, read_only=True) as connection:
        trades = connection.execute("SELECT * FROM trades ORDER BY pair, trade_id").df()
        candles = connection.execute(
            "SELECT * FROM candles ORDER BY pair, interval_seconds, window_start"
        ).df()
        offsets = dict(
            connection.execute(
                "SELECT partition, max(next_offset) FROM kafka_offsets GROUP BY ALL"
            ).fetchall()
        )
    return trades, candles, offsets


def crashing_worker(bootstrap: str, store, topic: str, seed: int) -> set[str]:
    """A drain killed at random points, started again until one run finishes; the stages
    it died at."""
    rng, died = random.Random(seed), set()
    for _attempt in range(12):
        stage = rng.choice(["before-commit", "after-commit", "mid-batch"])
        code = crash_drain(
            bootstrap,
            store,
            topic,
            stage,
            batch=rng.randint(1, 4),
            call=rng.randint(1, 12),
            batch_size=rng.choice([97, 300, 1_000]),
        )
        if code == 0:
            return died
        assert code == -9, f"the drain failed (exit code {code}); its error is above"
        died.add(stage)
    raise AssertionError(f"worker {seed}: the drain never finished")


@pytest.mark.slow
@pytest.mark.parametrize("catalog", ["sqlite", "postgres"])
def test_two_drains_and_training_on_a_lake_store_what_one_drain_stores(
    broker, tmp_path, request, catalog
) -> None:
    topics = Topics(*(f"{name}-{uuid.uuid4().hex[:8]}" for name in ("trades", "dlq", "preds")))
    ensure_topics(broker.bootstrap, topics.all(), partitions=PARTITIONS)
    trades = asyncio.run(collect(synthetic_trades(PAIRS, 3, START, 0, 4_000)))
    trades += random.Random(5).sample(trades, 300)  # replays
    publish_trades(trades, broker.bootstrap, topics, tmp_path)
    clean = tmp_path / "clean.duckdb"
    drain(broker.bootstrap, clean, topics.trades, 60, batch_size=300)
    lake = lake_location(request, tmp_path, catalog)

    stop, snapshots = threading.Event(), []

    def training() -> None:  # the training assets' store work: features refreshed, then read
        while not stop.is_set():
            with open_store(lake) as connection:
                for pair in PAIRS:
                    refresh_features(connection, pair, 60)
                snapshots.append(
                    connection.execute(
                        "SELECT (SELECT count(*) FROM trades),"
                        " (SELECT coalesce(sum(trade_count), 0) FROM candles)"
                    ).fetchone()
                )

    with ThreadPoolExecutor(max_workers=3) as pool:
        reader = pool.submit(training)
        workers = [
            pool.submit(crashing_worker, broker.bootstrap, lake, topics.trades, seed)
            for seed in (1, 2)
        ]
        try:
            died = set().union(*(worker.result(timeout=900) for worker in workers))
        finally:
            stop.set()
        reader.result(timeout=120)
    # The group's last members may end before a partition of a killed one moves to them (the
    # workers of a deployment run on); a sweep of every partition, beside nobody, finishes.
    drain(broker.bootstrap, lake, topics.trades, 60, share=False)

    clean_trades, clean_candles, clean_offsets = tables(clean)
    lake_trades, lake_candles, lake_offsets = tables(lake)
    assert len(clean_trades) == 4_000
    assert lake_offsets == clean_offsets, lake_trades.groupby("pair").size().to_dict()
    pd.testing.assert_frame_equal(lake_trades, clean_trades)
    pd.testing.assert_frame_equal(lake_candles, clean_candles)
    assert sum(lake_offsets.values()) == len(trades)
    assert died, "no drain was killed: the crash points were all past the last write"
    assert snapshots and all(stored == counted for stored, counted in snapshots), snapshots


def test_the_service_warms_up_from_a_lake_while_a_drain_writes(tmp_path, request) -> None:
    lake = lake_location(request, tmp_path, "sqlite")
    trades = seed_store(lake)
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_LAKE_WRITE, str(lake.lake), str(lake.data_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"  # trades deleted, not committed
        warm = read_warm_start(lake, "trades", ["BTC/USD"], 60, history=5)
    finally:
        writer.kill()
        writer.wait()
    assert warm.offsets == {0: 42}
    final = warm.final_candles["BTC/USD"]
    assert len(final) == 5 and final["window_start"].iloc[-1] == pd.Timestamp("2026-03-01 00:08")
    still_open = [t for t in trades if t.ts >= SEEDED_START + timedelta(minutes=9)]
    assert len(warm.open_trades["BTC/USD"]) == len(still_open) > 0
