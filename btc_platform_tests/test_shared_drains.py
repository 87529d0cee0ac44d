"""A drain that says "caught up" has drained everything: large producer batches on several
partitions, drained by one and by two `btc-platform drain` processes on the DuckDB file and on
a DuckLake; the lag that the drain sensor and `up`'s status show, against a known backlog.

The embedded broker answers ListOffsets "latest" with the start of the last record batch, so
any reader that trusted it would stop short here; the tests hold on any broker."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from btc_platform.broker.topics import Topics
from btc_platform.defs.resources import KafkaResource
from btc_platform.ingest.synthetic import market_trades
from btc_platform.stack.observe import KafkaLag
from btc_platform.store.store_connection import open_store
from btc_platform.store.store_location import StoreLocation
from btc_platform_tests.cli_helpers import cli_env, run_cli, start_cli
from btc_platform_tests.conftest import lake_location, own_embedded_broker, store_env
from btc_platform_tests.serving_helpers import publish_trades

PARTITIONS = 4
PAIRS = ("BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD")
PER_PAIR = 30_000
START = datetime(2026, 3, 1, tzinfo=UTC)


def produce(bootstrap: str, tmp_path) -> None:
    """Two pairs through ingest's own publisher (its linger and batch size), two through a
    producer with four times its batch size and a long linger: record batches of thousands."""
    trades = {
        pair: list(itertools.islice(market_trades(pair, i, START), PER_PAIR))
        for i, pair in enumerate(PAIRS)
    }
    for pair in PAIRS[:2]:
        publish_trades(bootstrap, Topics(), tmp_path / f"spool-{pair[:3]}.jsonl", trades[pair])
    producer = KafkaProducer(bootstrap_servers=bootstrap, linger_ms=200, batch_size=1 << 20)
    for pair in PAIRS[2:]:
        for trade in trades[pair]:
            producer.send(Topics().trades, key=pair.encode(), value=trade.to_json())
    producer.flush()
    producer.close()


def true_ends(bootstrap: str) -> dict[int, int]:
    """Each partition's end, by reading it whole (the offset after its last record)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    ends = {}
    try:
        for partition in range(PARTITIONS):
            tp = TopicPartition(Topics().trades, partition)
            consumer.assign([tp])
            consumer.seek_to_beginning(tp)
            last, quiet = -1, 0
            while quiet < 5:
                polled = consumer.poll(timeout_ms=400, max_records=100_000)
                quiet = 0 if polled else quiet + 1
                for batch in polled.values():
                    last = batch[-1].offset
            ends[partition] = last + 1
    finally:
        consumer.close()
    return ends


def lag(bootstrap: str) -> tuple[int, int | None]:
    """The backlog as the drain sensor (its Kafka resource) and `up`'s status see it."""
    sensor = sum(
        end - committed
        for committed, end in KafkaResource(bootstrap=bootstrap).positions().values()
    )
    status = KafkaLag(bootstrap, Topics().trades)
    try:
        return sensor, status.behind()
    finally:
        status.close()


def drained(result) -> str:
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)
@pytest.mark.parametrize(
    ("store", "drains"),
    # the file's second drain, and the lake's drain alone, are the 'drained 0 messages' drain
    # every case ends with
    [("file", 1), ("lake", 2)],
)
def test_drains_sharing_the_topic_store_every_record_and_say_so_truly(
    store, drains, tmp_path, request
):
    location = (
        StoreLocation(file=tmp_path / "offline.duckdb")
        if store == "file"
        else lake_location(request, tmp_path, "sqlite")
    )
    with own_embedded_broker(tmp_path / "broker", PARTITIONS) as broker:
        produce(broker.bootstrap, tmp_path)
        ends = true_ends(broker.bootstrap)
        assert sum(ends.values()) == PER_PAIR * len(PAIRS)
        assert lag(broker.bootstrap) == (sum(ends.values()),) * 2  # the known backlog

        env = cli_env(tmp_path / "data", broker.bootstrap, **store_env(location))
        if store == "lake":  # drains share a lake at once, through the consumer group
            running = [start_cli(["drain"], env) for _ in range(drains)]
            for process in running:
                _, errors = process.communicate(timeout=600)
                assert process.returncode == 0, errors[-3000:]
        else:  # the file has one writer at a time: drains take turns
            for _ in range(drains):
                drained(run_cli(["drain"], env, timeout=600))

        assert drained(run_cli(["drain"], env, timeout=600)).startswith("drained 0 messages")
        assert lag(broker.bootstrap) == (0, 0)
    with open_store(location, read_only=True) as connection:
        counts = dict(connection.execute("SELECT pair, count(*) FROM trades GROUP BY 1").fetchall())
        stored = dict(
            connection.execute(
                "SELECT partition, next_offset FROM kafka_offsets WHERE topic = 'trades'"
            ).fetchall()
        )
    assert counts == dict.fromkeys(PAIRS, PER_PAIR)
    assert {p: stored.get(p, 0) for p in ends} == ends
