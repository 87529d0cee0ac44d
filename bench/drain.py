"""Drain benchmark: N trades in the topic -> DuckDB through the real drain, against (a) a bare
kafka-python consumer that only reads the same messages and (b) a per-message INSERT loop
as course projects write it; then trades -> 1-minute candles, DuckDB vs a pandas resample;
then scale-out: drains of a 4-partition topic into the DuckDB file (1 drain) and into a
DuckLake (SQLite catalog, local Parquet; 1 and 2 drains at once).

Targets: drain >= 0.7 of the bare consumer, >= 5x the per-message loop.
"""

from __future__ import annotations

import argparse
import itertools
import multiprocessing
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from kafka import KafkaConsumer, TopicPartition
from machine import context, verdict

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.candles import candle_sql
from btc_platform.drain import drain
from btc_platform.ingest.synthetic import market_trades
from btc_platform.logs import configure_logging
from btc_platform.runtime import tune_garbage_collector
from btc_platform.store.offline_store import stored_trade_count
from btc_platform.store.schema import ensure_schema
from btc_platform.store.store_location import StoreLocation
from btc_platform.trades import trade_from_json
from btc_platform_tests.conftest import free_port


def fill_topic(bootstrap: str, count: int, spool: Path) -> None:
    publisher = TradePublisher(bootstrap, spool)
    for trade in itertools.islice(
        market_trades("BTC/USD", 2, datetime(2024, 1, 1, tzinfo=UTC)), count
    ):
        publisher.publish(trade)
    publisher.close()


SCALE_PAIRS = ["BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD"]
SCALE_TOPICS = Topics("scale-trades", "scale-trades.dlq", "scale-predictions")


def fill_partitioned_topic(bootstrap: str, count: int, spool: Path) -> None:
    """`count` trades of four pairs (keyed by pair, so spread over the topic's partitions)."""
    ensure_topics(bootstrap, SCALE_TOPICS.all(), partitions=len(SCALE_PAIRS))
    publisher = TradePublisher(bootstrap, spool, SCALE_TOPICS)
    start = datetime(2024, 1, 1, tzinfo=UTC)
    streams = [market_trades(pair, 2, start) for pair in SCALE_PAIRS]
    for trade in itertools.islice(itertools.chain.from_iterable(zip(*streams, strict=True)), count):
        publisher.publish(trade)
    publisher.close()


def drain_worker(bootstrap: str, store: StoreLocation, count: int, group: str) -> int:
    """A drain worker as a deployment runs it (`drain --follow`: one consumer in the group),
    stopped once the store holds all `count` trades (the file's one drain stops when caught
    up). Returns the trades this worker added."""
    if not store.is_lake:
        return drain(bootstrap, store, SCALE_TOPICS.trades, 60, group_id=group).trades_added
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.5):
            if stored_trade_count(store) >= count:
                done.set()

    threading.Thread(target=watch, daemon=True).start()
    try:
        result = drain(bootstrap, store, SCALE_TOPICS.trades, 60, group_id=group, until=done)
    finally:
        done.set()
    return result.trades_added


def drains_at_once(
    bootstrap: str, store: StoreLocation, workers: int, count: int
) -> tuple[float, int]:
    """Seconds until `workers` drain processes (forked from a server with the drain loaded)
    have drained the scale-out topic into `store`, and the trades they added."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["btc_platform.drain"])
    with context.Pool(workers) as pool:
        started = time.perf_counter()
        group = f"bench-{workers}-{uuid.uuid4().hex[:8]}"  # a fresh consumer group each run
        arguments = (bootstrap, store, count, group)
        runs = [pool.apply_async(drain_worker, arguments) for _ in range(workers)]
        added = sum(run.get(timeout=1_800) for run in runs)
        return time.perf_counter() - started, added


def scale_out(bootstrap: str, count: int, work: Path) -> None:
    fill_partitioned_topic(bootstrap, count, work / "scale-spool.jsonl")
    print(f"scale-out: {count:,} trades of {len(SCALE_PAIRS)} pairs, {len(SCALE_PAIRS)} partitions")
    runs = [
        ("DuckDB file, 1 drain", StoreLocation(file=work / "scale.duckdb"), 1),
        *(
            (
                f"DuckLake (SQLite catalog), {n} drain{'s' if n > 1 else ''}",
                StoreLocation(
                    lake=f"ducklake:sqlite:{work / f'lake{n}' / 'catalog.sqlite'}",
                    data_path=str(work / f"lake{n}" / "data"),
                ),
                n,
            )
            for n in (1, 2)
        ),
    ]
    rates = []
    for label, store, workers in runs:
        seconds, added = drains_at_once(bootstrap, store, workers, count)
        assert added == count, f"{label}: {added:,} trades stored of {count:,}"
        rates.append(count / seconds)
        print(f"  {label:<34} {count / seconds:>10,.0f} trades/s  ({seconds:.1f} s)")
    print(f"  ratio 2 lake drains / 1 lake drain {rates[2] / rates[1]:>9.2f}")
    print(f"  ratio 1 lake drain / file drain    {rates[1] / rates[0]:>9.2f}")


def consumer_at_start(bootstrap: str) -> KafkaConsumer:
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    partition = TopicPartition("trades", 0)
    consumer.assign([partition])
    consumer.seek(partition, 0)
    return consumer


def bare_consumer(bootstrap: str, count: int) -> float:
    consumer = consumer_at_start(bootstrap)
    started, seen = time.perf_counter(), 0
    while seen < count:
        seen += sum(len(batch) for batch in consumer.poll(timeout_ms=1000).values())
    elapsed = time.perf_counter() - started
    consumer.close()
    return elapsed


def per_message_loop(bootstrap: str, store: Path, count: int) -> float:
    """The naive loop: decode, INSERT one row, commit, for every message."""
    connection = duckdb.connect(str(store))
    ensure_schema(connection)
    consumer = consumer_at_start(bootstrap)
    started, seen = time.perf_counter(), 0
    while seen < count:
        for batch in consumer.poll(timeout_ms=1000, max_records=count - seen).values():
            for record in batch:
                t = trade_from_json(record.value)
                connection.execute(
                    "INSERT INTO trades VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    [
                        t.pair,
                        t.trade_id,
                        t.ts.replace(tzinfo=None),
                        t.price,
                        t.qty,
                        t.side,
                        t.ord_type,
                        t.source,
                    ],
                )
                seen += 1
    elapsed = time.perf_counter() - started
    consumer.close()
    connection.close()
    return elapsed


def candles_duckdb_vs_pandas(rows: int) -> tuple[float, float, float]:
    """The drain's candle query on the trades in DuckDB against the pandas way course
    projects use: fetch the trades into a frame, resample (one pair)."""
    rng = np.random.default_rng(1)
    start = np.datetime64("2024-01-01T00:00:00", "us")
    frame = pd.DataFrame(
        {
            "pair": "BTC/USD",
            "trade_id": np.arange(rows),
            "ts": start
            + np.sort(rng.integers(0, 86_400 * 30 * 1_000_000, rows)).astype("timedelta64[us]"),
            "price": 60_000 + rng.standard_normal(rows).cumsum(),
            "qty": rng.exponential(0.05, rows),
            "side": np.where(rng.random(rows) < 0.5, "buy", "sell"),
        }
    )
    connection = duckdb.connect()
    connection.register("generated", frame)
    connection.execute("CREATE TABLE bench_trades AS SELECT * FROM generated")
    bounds = {"pair": "BTC/USD", "grid_start": None, "grid_end": None, "previous_close": None}
    started = time.perf_counter()  # as the drain does: the ids' bound, then the candles
    max_trade_id = connection.execute("SELECT max(trade_id) FROM bench_trades").fetchone()[0]
    query = candle_sql(trades="bench_trades", interval_seconds=60, max_trade_id=max_trade_id)
    candles = connection.execute(f"CREATE TABLE bench_candles AS {query}", bounds).fetchall()[0][0]
    in_duckdb = time.perf_counter() - started
    started = time.perf_counter()
    trades = connection.execute("SELECT ts, price, qty FROM bench_trades").df()
    fetched = time.perf_counter() - started
    resampled = trades.set_index("ts").resample("1min").agg({"price": "ohlc", "qty": "sum"})
    resampling = time.perf_counter() - started - fetched
    assert candles == len(resampled), (candles, len(resampled))  # the same minutes, gaps too
    return in_duckdb, fetched, resampling


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--naive-trades", type=int, default=20_000)
    parser.add_argument("--candle-rows", type=int, default=10_000_000)
    parser.add_argument("--scale-trades", type=int, default=400_000)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    print(context())
    tune_garbage_collector()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        broker = EmbeddedBroker(work / "broker", f"127.0.0.1:{free_port()}")
        broker.start()
        try:
            ensure_topics(broker.bootstrap, Topics().all())
            fill_topic(broker.bootstrap, args.trades, work / "spool.jsonl")
            bare = bare_consumer(broker.bootstrap, args.trades)
            started = time.perf_counter()
            result = drain(broker.bootstrap, work / "drain.duckdb", "trades", 60)
            ours = time.perf_counter() - started
            naive = per_message_loop(broker.bootstrap, work / "naive.duckdb", args.naive_trades)
            report_drain(result.trades_added, args.trades, args.naive_trades, bare, ours, naive)
            scale_out(broker.bootstrap, args.scale_trades, work)
        finally:
            broker.stop()
    in_duckdb, fetched, resampling = candles_duckdb_vs_pandas(args.candle_rows)
    in_pandas = fetched + resampling
    print(f"1m candles from {args.candle_rows:,} trades stored in DuckDB")
    print(f"  DuckDB, the drain's candle query {in_duckdb:>9.2f} s  (gaps explicit, final flags)")
    parts = f"({fetched:.2f} s + {resampling:.2f} s)"
    print(f"  pandas: fetch + resample       {in_pandas:>11.2f} s  {parts}")
    ratio = in_pandas / in_duckdb
    print(f"  ratio pandas / DuckDB          {ratio:>11.1f}x (target >= 5x: {verdict(ratio >= 5)})")


def report_drain(added: int, n: int, k: int, bare: float, ours: float, naive: float) -> None:
    assert added == n, f"the drain stored {added:,} trades of {n:,}"
    print(f"trades                          {n:>12,}")
    print(f"bare consumer (read only)       {n / bare:>12,.0f} trades/s  ({bare:.1f} s)")
    print(f"btc-platform drain              {n / ours:>12,.0f} trades/s  ({ours:.1f} s)")
    print(f"per-message INSERT loop         {k / naive:>12,.0f} trades/s  (on {k:,} trades)")
    consumer_ratio, loop_ratio = bare / ours, (n / ours) / (k / naive)
    print(
        f"ratio drain / bare consumer     {consumer_ratio:>12.2f}   "
        f"(target >= 0.70: {verdict(consumer_ratio >= 0.7)})"
    )
    print(
        f"ratio drain / per-message loop  {loop_ratio:>12.1f}x  "
        f"(target >= 5x: {verdict(loop_ratio >= 5)})"
    )


if __name__ == "__main__":
    main()
