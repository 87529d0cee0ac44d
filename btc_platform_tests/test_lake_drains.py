"""Several drains at once on a DuckLake store: exactly the trades and candles one drain gives."""

from __future__ import annotations

import asyncio
import json
import random
import re
import signal
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import duckdb
import pandas as pd
import pytest

from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.drain import drain
from btc_platform.features.compute import FEATURES
from btc_platform.ingest.synthetic import MarketModel, synthetic_trades
from btc_platform.serving.warm_start import read_warm_start
from btc_platform.store.offline_store import stored_trade_count
from btc_platform.store.store_connection import open_store
from btc_platform.store.transactions import in_transaction
from btc_platform.trades import Trade
from btc_platform_tests.cli_helpers import COMMAND, cli_env, run_cli
from btc_platform_tests.conftest import (
    HOLD_LAKE_WRITE,
    SEEDED_START,
    lake_location,
    own_embedded_broker,
    seed_store,
    store_env,
)
from btc_platform_tests.crashing_drain import crash_drain
from btc_platform_tests.polling import wait_until
from btc_platform_tests.serving_helpers import market
from btc_platform_tests.test_drain import collect, publish_trades

START = datetime(2026, 3, 1, tzinfo=UTC)
PAIRS = ["BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD"]
PARTITIONS = 4
# BTC/USD also has a history before START to train on: a quiet market (few trades a minute)
# long enough for the features' warm-up and a holdout
QUIET = MarketModel(trades_per_second=0.1)
HISTORY_START = START - timedelta(minutes=FEATURES.warmup_candles + 500)


def history_and_live() -> tuple[list[Trade], list[Trade]]:
    """BTC/USD's trades before START; then every pair's from START on (BTC/USD's the same
    market going on), in time order, with 300 replays mixed in."""
    btc = market(HISTORY_START, START + timedelta(minutes=30), pair="BTC/USD", model=QUIET)
    others = asyncio.run(collect(synthetic_trades(PAIRS[1:], 3, START, 0, 3_000)))
    live = sorted([t for t in btc if t.ts >= START] + others, key=lambda t: t.ts)
    live += random.Random(5).sample(live, 300)
    return [t for t in btc if t.ts < START], live


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
    history, live = history_and_live()
    lake = lake_location(request, tmp_path, catalog)
    publish_trades(history, broker.bootstrap, topics, tmp_path)
    drain(broker.bootstrap, lake, topics.trades, 60, share=False)  # the history to train on
    publish_trades(live, broker.bootstrap, topics, tmp_path)
    clean = tmp_path / "clean.duckdb"
    drain(broker.bootstrap, clean, topics.trades, 60, batch_size=300)

    stop, snapshots = threading.Event(), []
    env = cli_env(tmp_path / "training", broker.bootstrap, **store_env(lake))
    train = ["train", "--pair", "BTC/USD", "--horizon", "5", "--trials", "1", "--cv-folds", "2"]

    def reading() -> None:  # snapshots read while the drains write: always consistent
        while not stop.is_set():
            with open_store(lake, read_only=True) as connection:
                snapshots.append(
                    connection.execute(
                        "SELECT (SELECT count(*) FROM trades),"
                        " (SELECT coalesce(sum(trade_count), 0) FROM candles)"
                    ).fetchone()
                )
            stop.wait(0.2)  # leaves the cores to the drains and training

    def training() -> list[subprocess.CompletedProcess]:  # runs again until the drains end
        runs = [run_cli(train, env, 900)]
        while not stop.is_set():
            runs.append(run_cli(train, env, 900))
        return runs

    with ThreadPoolExecutor(max_workers=4) as pool:
        reader = pool.submit(reading)
        trainer = pool.submit(training)
        workers = [
            pool.submit(crashing_worker, broker.bootstrap, lake, topics.trades, seed)
            for seed in (1, 2)
        ]
        try:
            died = set().union(*(worker.result(timeout=900) for worker in workers))
        finally:
            stop.set()
        reader.result(timeout=120)
        runs = trainer.result(timeout=900)
    # The group's last members may end before a partition of a killed one moves to them (the
    # workers of a deployment run on); a sweep of every partition, beside nobody, finishes.
    drain(broker.bootstrap, lake, topics.trades, 60, share=False)

    clean_trades, clean_candles, clean_offsets = tables(clean)
    lake_trades, lake_candles, lake_offsets = tables(lake)
    assert len(clean_trades) == len(history) + len(set(live)) > 3_000 + len(history)
    assert lake_offsets == clean_offsets, lake_trades.groupby("pair").size().to_dict()
    pd.testing.assert_frame_equal(lake_trades, clean_trades)
    pd.testing.assert_frame_equal(lake_candles, clean_candles)
    assert sum(lake_offsets.values()) == len(history) + len(live)
    assert died, "no drain was killed: the crash points were all past the last write"
    assert snapshots and all(stored == counted for stored, counted in snapshots), snapshots
    # training runs beside them: features refreshed, trained and judged on a snapshot
    # the first run registered the EWMA-blend rule as v1 (the first champion), then its model
    for version, run in enumerate(runs, start=2):
        assert run.returncode == 0, run.stderr[-3000:]
        assert re.search(rf"trained btc-price\S* v{version} on [1-9]\d+ rows", run.stdout), (
            run.stdout
        )
        assert "verdict: " in run.stdout


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


@pytest.mark.slow
def test_two_following_drain_workers_share_the_topic_and_store_it_once(tmp_path, request):
    """Two `btc-platform drain --follow` processes on a lake: each keeps one consumer in the
    group and drains what arrives; together they store what one drain stores on the file."""
    lake = lake_location(request, tmp_path, "sqlite")
    trades = asyncio.run(collect(synthetic_trades(PAIRS, 3, START, 0, 4_000)))
    with own_embedded_broker(tmp_path / "broker", PARTITIONS) as broker:
        topics = Topics()
        env = cli_env(tmp_path / "data", broker.bootstrap, **store_env(lake), BTC_LOG_LEVEL="INFO")
        logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
        workers = [
            subprocess.Popen(
                [*COMMAND, "drain", "--follow", "--batch-size", "500"],
                env=env,
                stdout=log.open("w"),
                stderr=subprocess.STDOUT,
            )
            for log in logs
        ]
        try:
            for part, stored in ((trades[:2_000], 2_000), (trades[2_000:], 4_000)):
                publish_trades(part, broker.bootstrap, topics, tmp_path)  # while they follow
                wait_until(lambda n=stored: stored_trade_count(lake) == n, 180, f"{stored} trades")
            assert [worker.poll() for worker in workers] == [None, None]  # still following
        finally:
            for worker in workers:
                worker.send_signal(signal.SIGTERM)
            codes = [worker.wait(timeout=60) for worker in workers]
        clean = tmp_path / "clean.duckdb"
        drain(broker.bootstrap, clean, topics.trades, 60)
    outputs = [log.read_text() for log in logs]
    assert codes == [0, 0], outputs
    drained = [int(re.search(r"^drained (\d+) messages", out, re.M).group(1)) for out in outputs]
    assert sum(drained) == len(trades), outputs  # each message stored by exactly one of them
    assert min(drained) > 0, drained  # any split of the 4 partitions gives each some pairs
    # one drain each, followed to the end: not one drain (and group join) per round
    assert [out.count('"event": "drain caught up"') for out in outputs] == [1, 1], outputs
    shares = [assignments(out) for out in outputs]
    assert {p for share in shares for assigned in share for p in assigned} == set(
        range(PARTITIONS)
    ), shares
    clean_trades, clean_candles, _ = tables(clean)
    lake_trades, lake_candles, _ = tables(lake)
    pd.testing.assert_frame_equal(lake_trades, clean_trades)
    pd.testing.assert_frame_equal(lake_candles, clean_candles)


def assignments(output: str) -> list[list[int]]:
    """The partitions a drain's log says the group assigned it, one list per assignment."""
    events = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    return [e["partitions"] for e in events if e["event"] == "drain partitions assigned"]


# What a drain got (bench/drain.py, two drains and a reader) when its batch's first read of
# the catalog met another process's commit: SQLite answers at once, it never waits.
SQLITE_LOCKED = (
    'Failed to query most recent snapshot for DuckLake: Failed to prepare query "SELECT type'
    " FROM sqlite_master WHERE lower(name)=lower('ducklake_snapshot');\": database is locked"
)


def test_work_that_met_a_locked_sqlite_catalog_runs_again_and_other_errors_do_not(
    tmp_path, request
):
    lake = lake_location(request, tmp_path, "sqlite")
    seed_store(lake)
    attempts = []

    def work(error: str) -> int:
        attempts.append(error)
        connection.execute("DELETE FROM trades WHERE trade_id = ?", [len(attempts)])
        if len(attempts) == 1:
            raise duckdb.Error(error)
        return len(attempts)

    with open_store(lake) as connection:
        assert in_transaction(connection, lambda: work(SQLITE_LOCKED)) == 2
        attempts.clear()
        with pytest.raises(duckdb.Error, match="no such thing"):
            in_transaction(connection, lambda: work("Binder Error: no such thing"))
    assert len(attempts) == 1  # not run again
    with open_store(lake, read_only=True) as connection:  # the first try of each rolled back
        ids = {row[0] for row in connection.execute("SELECT trade_id FROM trades").fetchall()}
    assert 1 in ids and 2 not in ids


def test_readers_that_meet_a_sqlite_catalog_locked_by_commits_read_when_it_is_free(
    tmp_path, request
) -> None:
    lake = lake_location(request, tmp_path, "sqlite")
    seed_store(lake)
    expected = stored_trade_count(lake)
    holder = subprocess.Popen(  # another process, committing over and over as drains do
        [sys.executable, "-c", LOCK_CATALOG_OFTEN, str(lake.sqlite_catalog)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "locking"
        counts = []
        while holder.poll() is None:  # at any moment: opening, attaching, reading
            counts.append(stored_trade_count(lake))
        assert set(counts) == {expected}  # every read succeeded, none saw a partial store
    finally:
        holder.kill()
        holder.wait()


LOCK_CATALOG_OFTEN = (
    "import sqlite3, sys, time; c = sqlite3.connect(sys.argv[1], isolation_level=None); "
    "print('locking', flush=True); end = time.monotonic() + 5\n"
    "while time.monotonic() < end:\n"
    "    c.execute('BEGIN EXCLUSIVE'); time.sleep(0.02); c.execute('COMMIT'); time.sleep(0.05)"
)
