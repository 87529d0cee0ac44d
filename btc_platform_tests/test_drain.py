"""Kafka -> DuckDB drain: consistent candles, idempotent, exactly-once across crashes."""

from __future__ import annotations

import asyncio
import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from kafka import KafkaConsumer, TopicPartition

from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.candles import candles_from_trades
from btc_platform.drain import GROUP_ID, drain
from btc_platform.ingest.csv_replay import replay_csv
from btc_platform.ingest.synthetic import synthetic_trades
from btc_platform.store.offline_store import stored_trade_count
from btc_platform.store.store_connection import open_store
from btc_platform_tests.conftest import crash_broker, own_embedded_broker, shared_file
from btc_platform_tests.crashing_drain import crash_drain
from btc_platform_tests.ingest_helpers import publish

START = datetime(2026, 3, 1, tzinfo=UTC)


def query(store, sql: str) -> pd.DataFrame:
    with open_store(store, read_only=True) as connection:
        return connection.execute(sql).df()


def trades_table(store) -> pd.DataFrame:
    return query(store, "SELECT * FROM trades ORDER BY pair, trade_id")


def candles_table(store) -> pd.DataFrame:
    return query(store, "SELECT * FROM candles ORDER BY pair, interval_seconds, window_start")


async def collect(stream) -> list:
    return [item async for item in stream]


def messy_trades(count: int = 3_000) -> list:
    """Two pairs interleaved, then duplicates and late trades mixed into the order."""
    trades = asyncio.run(collect(synthetic_trades(["BTC/USD", "ETH/USD"], 3, START, 0, count)))
    rng = random.Random(5)
    messy = list(trades)
    late = messy[1_000:1_200]
    del messy[1_000:1_200]
    messy[2_000:2_000] = late  # 200 trades arrive well after their minute
    messy += rng.sample(trades, 300)  # replays
    return messy


def publish_trades(trades, bootstrap, topics, tmp_path) -> None:
    publisher = TradePublisher(bootstrap, tmp_path / "spool.jsonl", topics)
    for trade in trades:
        publisher.publish(trade)
    assert publisher.close() == 0


def test_drain_is_consistent_idempotent_and_resumable(broker, topics, tmp_path, any_store) -> None:
    trades = messy_trades()
    publish_trades(trades, broker.bootstrap, topics, tmp_path)
    store = any_store  # the DuckDB file, a DuckLake on SQLite, on Postgres

    first = drain(broker.bootstrap, store, topics.trades, 60, batch_size=257, max_messages=1_000)
    assert first.messages in range(1_000, 1_257)
    rest = drain(broker.bootstrap, store, topics.trades, 60, batch_size=257)
    assert first.messages + rest.messages == len(trades)
    assert first.trades_added + rest.trades_added == 3_000  # the 300 replays added nothing
    assert rest.offsets == {0: len(trades)}
    again = drain(broker.bootstrap, store, topics.trades, 60)
    assert (again.messages, again.trades_added) == (0, 0)
    assert stored_trade_count(store) == 3_000

    stored = trades_table(store)
    unique = sorted({(t.pair, t.trade_id): t for t in trades}.values())
    assert list(zip(stored["pair"], stored["trade_id"], stored["price"], strict=True)) == [
        (t.pair, t.trade_id, t.price) for t in unique
    ]
    clean = candles_from_trades(stored[["pair", "trade_id", "ts", "price", "qty", "side"]], 60)
    pd.testing.assert_frame_equal(
        candles_table(store).reset_index(drop=True), clean, check_dtype=False
    )
    assert query(store, "SELECT * FROM kafka_offsets").values.tolist() == [
        [topics.trades, 0, len(trades)]
    ]


def test_a_store_without_its_tables_yet_holds_no_trades(any_store) -> None:
    # a lake's catalog exists a moment before the transaction creating its tables commits
    if any_store.sqlite_catalog is not None or any_store.file is not None:
        assert stored_trade_count(any_store) == 0  # nothing there at all
    with open_store(any_store) as connection:
        connection.execute("DROP TABLE trades")
    assert stored_trade_count(any_store) == 0


def test_a_drain_ends_once_caught_up_and_leaves_its_position_in_kafka(
    broker, topics, tmp_path
) -> None:
    trades = messy_trades(500)
    publish_trades(trades, broker.bootstrap, topics, tmp_path)
    store = tmp_path / "offline.duckdb"
    pool = ThreadPoolExecutor(max_workers=1)
    running = pool.submit(drain, broker.bootstrap, store, topics.trades, 60)
    result = running.result(timeout=60)
    pool.shutdown()
    assert (result.messages, result.offsets) == (len(trades), {0: len(trades)})
    consumer = KafkaConsumer(bootstrap_servers=broker.bootstrap, group_id=GROUP_ID)
    try:  # the last batch's offsets are committed before the drain returns
        assert consumer.committed(TopicPartition(topics.trades, 0)) == len(trades)
    finally:
        consumer.close()


@pytest.mark.slow
def test_candles_match_an_independent_computation_on_real_trades(broker, topics, tmp_path) -> None:
    path = shared_file("kraken_XBTUSD_trades_2018-05.csv")
    publish(replay_csv(path, "BTC/USD"), broker.bootstrap, topics, tmp_path / "spool.jsonl")
    store = tmp_path / "offline.duckdb"
    result = drain(broker.bootstrap, store, topics.trades, 60)
    assert result.trades_added == 152_019

    # Independent: DuckDB straight on the CSV, line number = trade id, no pandas involved.
    expected = query(
        store,
        f"""
        WITH t AS (
            SELECT row_number() OVER () AS id, column1 AS price, column2 AS qty,
                   make_timestamp(CAST(round(column0 * 1e6) AS BIGINT)) AS ts
            FROM read_csv('{path}', header = false, columns = {{'column0': 'DOUBLE',
                 'column1': 'DOUBLE', 'column2': 'DOUBLE'}})
        )
        SELECT time_bucket(INTERVAL 1 minute, ts) AS window_start,
               first(price ORDER BY ts, id) AS open, max(price) AS high, min(price) AS low,
               last(price ORDER BY ts, id) AS close, sum(qty) AS volume, count(*) AS trade_count,
               sum(price * qty) / sum(qty) AS vwap
        FROM t GROUP BY 1 ORDER BY 1
        """,
    )
    got = query(store, "SELECT * FROM candles WHERE trade_count > 0 ORDER BY window_start")
    assert len(got) == len(expected)
    for column in ("open", "high", "low", "close", "trade_count"):
        assert got[column].tolist() == expected[column].tolist(), column
    for column in ("volume", "vwap"):
        pd.testing.assert_series_equal(got[column], expected[column], check_names=False, rtol=1e-9)
    span = (expected["window_start"].iloc[-1] - expected["window_start"].iloc[0]) // timedelta(
        minutes=1
    )
    assert query(store, "SELECT count(*) AS n FROM candles")["n"][0] == span + 1  # gaps explicit


@pytest.mark.slow
def test_a_crash_at_any_stage_loses_and_doubles_nothing(broker, topics, tmp_path) -> None:
    trades = messy_trades(2_000)
    publish_trades(trades, broker.bootstrap, topics, tmp_path)
    clean_store = tmp_path / "clean.duckdb"
    drain(broker.bootstrap, clean_store, topics.trades, 60, batch_size=300)
    clean_trades, clean_candles = trades_table(clean_store), candles_table(clean_store)

    rng = random.Random(11)
    stages_seen = set()
    for run in range(8):
        store = tmp_path / f"run{run}.duckdb"
        for _attempt in range(12):
            stage = rng.choice(["before-commit", "after-commit", "mid-batch"])
            code = crash_drain(
                broker.bootstrap,
                store,
                topics.trades,
                stage,
                batch=rng.randint(1, 4),
                call=rng.randint(1, 12),
                batch_size=rng.choice([97, 300, 1_000]),
            )
            if code == 0:
                break
            assert code == -9, f"the drain failed (exit code {code}); its error is above"
            stages_seen.add(stage)
        else:
            pytest.fail(f"run {run}: the drain never finished")
        pd.testing.assert_frame_equal(trades_table(store), clean_trades)
        pd.testing.assert_frame_equal(candles_table(store), clean_candles)
        assert query(store, "SELECT next_offset FROM kafka_offsets")["next_offset"][0] == len(
            trades
        )
    assert stages_seen == {"before-commit", "after-commit", "mid-batch"}


def test_a_broker_that_came_back_empty_is_drained_from_its_beginning(tmp_path) -> None:
    """The embedded broker keeps its topics in memory: restarted, its offsets start at 0
    again, below the ones in the store. The drain reads it from the beginning; trades
    already stored (re-sent by a backfill) count once."""
    trades = messy_trades(2_000)
    store = tmp_path / "store.duckdb"
    with own_embedded_broker(tmp_path / "broker") as broker:
        topics = Topics()
        publish_trades(trades[:1_500], broker.bootstrap, topics, tmp_path)
        drain(broker.bootstrap, store, topics.trades, 60)
        crash_broker(broker)
        broker.start()
        ensure_topics(broker.bootstrap, topics.all())
        publish_trades(trades[1_400:], broker.bootstrap, topics, tmp_path)  # 100 again
        drain(broker.bootstrap, store, topics.trades, 60)
        offsets = query(store, "SELECT next_offset FROM kafka_offsets")["next_offset"]
    clean = tmp_path / "clean.duckdb"
    with own_embedded_broker(tmp_path / "clean-broker") as broker:
        publish_trades(trades, broker.bootstrap, Topics(), tmp_path)
        drain(broker.bootstrap, clean, "trades", 60)
    pd.testing.assert_frame_equal(trades_table(store), trades_table(clean))
    pd.testing.assert_frame_equal(candles_table(store), candles_table(clean))
    assert list(offsets) == [len(trades) - 1_400]  # the new topic's end
