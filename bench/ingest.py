"""Ingest benchmark: replay N trades (Kraken CSV format) into the broker through the real
ingest path, against a bare kafka-python producer sending the same pre-serialized bytes.

Prints trades/s for both and their ratio (target: ingest >= 0.8 of the bare producer).
Both run in this process against one embedded broker, one after the other.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from kafka import KafkaProducer
from machine import context, verdict

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.ingest.csv_replay import replay_csv
from btc_platform.ingest.runner import run_ingest
from btc_platform.ingest.synthetic import market_trades
from btc_platform.logs import configure_logging
from btc_platform.runtime import tune_garbage_collector
from btc_platform_tests.conftest import free_port


def write_csv(path: Path, count: int) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    with path.open("w") as out:
        for trade in itertools.islice(market_trades("BTC/USD", 1, start), count):
            out.write(f"{trade.ts.timestamp():.6f},{trade.price},{trade.qty}\n")


def bare_producer(bootstrap: str, topic: str, payloads: list[bytes]) -> float:
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=False,
        linger_ms=5,
        batch_size=256 * 1024,
    )
    started = time.perf_counter()
    for payload in payloads:
        producer.send(topic, value=payload, key=b"BTC/USD")
    producer.flush()
    elapsed = time.perf_counter() - started
    producer.close()
    return elapsed


def publish_only(bootstrap: str, topics: Topics, trades: list, spool: Path) -> float:
    """The publisher alone (serialize, route, track, send) on already-decoded trades."""
    publisher = TradePublisher(bootstrap, spool, topics)
    started = time.perf_counter()
    for trade in trades:
        publisher.publish(trade)
    publisher.close()
    return time.perf_counter() - started


def ingest_path(bootstrap: str, topics: Topics, csv: Path, spool: Path) -> float:
    publisher = TradePublisher(bootstrap, spool, topics)
    started = time.perf_counter()
    asyncio.run(run_ingest(replay_csv(csv, "BTC/USD"), publisher, progress_every=3600))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trades", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    print(context())
    tune_garbage_collector()  # as the btc-platform command does, for both contenders
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        csv = work / "trades.csv"
        write_csv(csv, args.trades)
        trades = list(
            itertools.islice(
                market_trades("BTC/USD", 1, datetime(2024, 1, 1, tzinfo=UTC)), args.trades
            )
        )
        payloads = [trade.to_json() for trade in trades]
        broker = EmbeddedBroker(work / "broker", f"127.0.0.1:{free_port()}")
        broker.start()
        try:
            bare_runs, publish_runs, ingest_runs = [], [], []
            for run in range(args.rounds):  # interleaved, best of each: the machine is noisy
                ours = Topics(f"ours{run}", f"ours{run}.dlq", f"ours{run}.p")
                published = Topics(f"pub{run}", f"pub{run}.dlq", f"pub{run}.p")
                ensure_topics(broker.bootstrap, [f"bare{run}", *ours.all(), *published.all()])
                bare_runs.append(bare_producer(broker.bootstrap, f"bare{run}", payloads))
                publish_runs.append(
                    publish_only(broker.bootstrap, published, trades, work / "spool.jsonl")
                )
                ingest_runs.append(ingest_path(broker.bootstrap, ours, csv, work / "spool.jsonl"))
            bare, publish, ingest = min(bare_runs), min(publish_runs), min(ingest_runs)
        finally:
            broker.stop()
    n = args.trades
    print(f"trades                       {n:>12,}   (best of {args.rounds} interleaved rounds)")
    print(f"bare kafka-python producer   {n / bare:>12,.0f} trades/s  ({bare:.1f} s)")
    print(f"publisher alone (decoded)    {n / publish:>12,.0f} trades/s  ({publish:.1f} s)")
    print(f"btc-platform ingest (csv)    {n / ingest:>12,.0f} trades/s  ({ingest:.1f} s)")
    print(f"ratio publisher / bare       {bare / publish:>12.2f}")
    ratio = bare / ingest
    print(
        f"ratio ingest / bare          {ratio:>12.2f}   (target >= 0.80: {verdict(ratio >= 0.8)})"
    )
    print(f"decode + validate per trade  {(ingest - publish) / n * 1e6:>12.1f} us")


if __name__ == "__main__":
    main()
