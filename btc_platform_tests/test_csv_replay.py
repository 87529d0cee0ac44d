"""Kraken Time-and-Sales CSV replay: stable ids, tick-rule sides, pacing, bad lines to the DLQ."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest

from btc_platform.ingest import csv_replay
from btc_platform.ingest.csv_replay import replay_csv
from btc_platform.trades import Rejected, Trade
from btc_platform_tests.conftest import shared_file
from btc_platform_tests.ingest_helpers import publish, topic_trades
from btc_platform_tests.kafka_helpers import read_topic


async def collect(stream) -> list:
    return [item async for item in stream]


def test_ids_are_line_numbers_and_sides_follow_the_tick_rule(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(
        "1525752700.0295,9431.1,2.02\n"
        "1525752700.0323,9432.0,2.0\n"
        "1525752700.0349,9432.0,0.26\n"
        "1525752701.5,9430.0,0.1\n"
    )
    items = asyncio.run(collect(replay_csv(path, "BTC/USD")))
    assert [(t.trade_id, t.side, t.price) for t in items] == [
        (1, "buy", 9431.1),
        (2, "buy", 9432.0),
        (3, "buy", 9432.0),
        (4, "sell", 9430.0),
    ]
    assert items[0].ts == datetime(2018, 5, 8, 4, 11, 40, 29500, tzinfo=UTC)
    assert {t.source for t in items} == {"kraken-csv"}
    assert items == asyncio.run(collect(replay_csv(path, "BTC/USD"))), "replays are identical"


def test_bad_lines_are_rejected_with_their_line_number(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_bytes(
        b"1525752700.0,9431.1,2.0\n"
        b"timestamp,price,volume\n"
        b"1525752701.0,-3,2.0\n"
        b"1525752702.0,9431.1\n"
        b"\xff\xfe,1,1\n"
        b"\n"
        b"1525752703.0,9432.0,0.5\n"
    )
    items = asyncio.run(collect(replay_csv(path, "BTC/USD")))
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert [t.trade_id for t in items if isinstance(t, Trade)] == [1, 7]
    assert [r.reason for r in rejected] == [
        "t.csv line 2: timestamp: 'timestamp' is not a number",
        "t.csv line 3: price: -3.0 must be a finite number > 0",
        "t.csv line 4: expected 3 columns timestamp,price,volume, got 2",
        "t.csv line 5: timestamp: '\ufffd\ufffd' is not a number",
    ]
    assert rejected[1].raw == b"1525752701.0,-3,2.0\n"


def test_speed_replays_event_time_faster_than_real_time(tmp_path) -> None:
    path = tmp_path / "t.csv"
    path.write_text("1700000000.0,10,1\n1700000001.0,10,1\n1700000002.0,10,1\n")
    started = time.monotonic()
    items = asyncio.run(collect(replay_csv(path, "BTC/USD", speed=4.0)))
    assert [t.trade_id for t in items if isinstance(t, Trade)] == [1, 2, 3]
    assert time.monotonic() - started >= 2.0 / 4.0 * 0.95  # 2 s of trades at 4x


@pytest.mark.slow
def test_the_real_may_2018_file_reaches_the_topic_whole(broker, topics, tmp_path) -> None:
    path = shared_file("kraken_XBTUSD_trades_2018-05.csv")
    lines = path.read_text().splitlines()
    result = publish(replay_csv(path, "BTC/USD"), broker.bootstrap, topics, tmp_path / "s.jsonl")
    assert (result.trades, result.rejected) == (len(lines), 0)
    trades = topic_trades(broker.bootstrap, topics.trades, expect=len(lines))
    assert [t.trade_id for t in trades] == list(range(1, len(lines) + 1))
    last_ts, last_price, last_qty = lines[-1].split(",")
    assert trades[-1].price == float(last_price) and trades[-1].qty == float(last_qty)
    assert trades[-1].ts == datetime.fromtimestamp(float(last_ts), UTC)
    assert read_topic(broker.bootstrap, topics.dlq, idle=0.5) == []


def line_by_line(monkeypatch: pytest.MonkeyPatch, path, pair: str = "BTC/USD") -> list:
    with monkeypatch.context() as patched:
        patched.setattr(csv_replay, "_decode_chunk", lambda *args: None)
        return list(csv_replay.csv_items(path, pair))


def test_chunked_decoding_equals_line_by_line_across_chunks_and_bad_lines(
    monkeypatch, tmp_path
) -> None:
    path = tmp_path / "t.csv"
    rows = [
        f"{1_700_000_000 + i * 0.37:.4f},{60_000 + (i // 9 * 7919 % 13) - 6:.1f},{0.01 + i % 5}\n"
        for i in range(3_000)
    ]
    rows[1_234] = "1700000456.1,-1,1\n"  # a bad line inside one chunk
    rows[2_000] = "\n"
    path.write_text("".join(rows))
    monkeypatch.setattr(csv_replay, "CHUNK_BYTES", 512)  # ~20 lines a chunk
    chunked = list(csv_replay.csv_items(path, "BTC/USD"))
    assert chunked == line_by_line(monkeypatch, path)
    assert len(chunked) == 2_999
    assert {t.side for t in chunked if isinstance(t, Trade)} == {"buy", "sell"}
    [bad] = [r for r in chunked if isinstance(r, Rejected)]
    assert bad.reason == "t.csv line 1235: price: -1.0 must be a finite number > 0"


@pytest.mark.slow
def test_chunked_decoding_of_the_real_file_equals_line_by_line(monkeypatch) -> None:
    path = shared_file("kraken_XBTUSD_trades_2018-05.csv")
    assert list(csv_replay.csv_items(path, "BTC/USD")) == line_by_line(monkeypatch, path)
