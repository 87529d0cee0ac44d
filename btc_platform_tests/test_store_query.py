"""`btc-platform store query "SQL"`: read-only SQL on the offline store, printed as CSV."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from datetime import timedelta

import pytest
from click.testing import CliRunner

from btc_platform.cli import cli
from btc_platform.store.store_location import StoreLocation
from btc_platform_tests.conftest import (
    HOLD_LAKE_WRITE,
    HOLD_WRITE_LOCK,
    SEEDED_START,
    lake_location,
    seed_store,
    store_env,
)


def seeded(location: StoreLocation, monkeypatch) -> list:
    """Ten minutes of the seeded market in the store, as a drain leaves it; the CLI's
    environment points at the store."""
    for name, value in store_env(location).items():
        monkeypatch.setenv(name, value)
    return seed_store(location)


@pytest.fixture
def store(any_store, tmp_path, monkeypatch):
    """The seeded store on each backend."""
    monkeypatch.setenv("BTC_DATA_DIR", str(tmp_path))
    return any_store, seeded(any_store, monkeypatch)


def run(*args: str):
    return CliRunner().invoke(cli, ["store", "query", *args], catch_exceptions=False)


def rows(done) -> list[dict[str, str]]:
    """The CSV on stdout (the log, e.g. of waiting for a writer, goes to stderr)."""
    return list(csv.DictReader(io.StringIO(done.stdout)))


def test_rows_come_out_as_csv_with_a_header(store) -> None:
    _, trades = store
    done = run("SELECT pair, count(*) AS trades, max(price) AS high FROM trades GROUP BY pair")
    assert done.exit_code == 0, done.output
    assert done.stdout.splitlines()[0] == "pair,trades,high"
    assert rows(done) == [
        {"pair": "BTC/USD", "trades": str(len(trades)), "high": str(max(t.price for t in trades))}
    ]
    candles = run(
        "SELECT window_start, trade_count FROM candles WHERE final ORDER BY window_start LIMIT 2"
    )
    first_minute = sum(1 for t in trades if t.ts < SEEDED_START + timedelta(minutes=1))
    assert rows(candles)[0] == {
        "window_start": "2026-03-01 00:00:00",
        "trade_count": str(first_minute),
    }
    assert rows(run("SELECT * FROM kafka_offsets")) == [
        {"topic": "trades", "partition": "0", "next_offset": "42"}
    ]


def test_a_long_query_draws_no_progress_bar_into_the_csv(store) -> None:
    # DuckDB's bar (drawn for queries past 2 s) would land on stdout of every store user
    done = run("SELECT current_setting('enable_progress_bar') AS bar")
    assert rows(done) == [{"bar": "False"}]


def test_writes_and_other_files_are_refused_and_nothing_changes(store, tmp_path) -> None:
    _, trades = store
    deleted = run("DELETE FROM trades")
    assert deleted.exit_code == 1
    assert "Error: query failed: InvalidInputException:" in deleted.output
    assert "read-only" in deleted.output
    copied = run(f"COPY trades TO '{tmp_path / 'out.csv'}'")
    assert copied.exit_code == 1 and "disabled by configuration" in copied.output, copied.output
    assert not (tmp_path / "out.csv").exists()
    assert rows(run("SELECT count(*) AS n FROM trades")) == [{"n": str(len(trades))}]


def test_a_bad_query_and_a_missing_store_say_what_is_wrong(store, tmp_path, monkeypatch) -> None:
    typo = run("SELEC 1")
    assert typo.exit_code == 1
    parser = 'Error: query failed: ParserException: Parser Error: syntax error at or near "SELEC"'
    assert parser in typo.output, typo.output
    unknown = run("SELECT * FROM trade")
    assert unknown.exit_code == 1 and "Table with name trade does not exist" in unknown.output
    monkeypatch.setenv("BTC_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.delenv("BTC_DUCKDB_PATH", raising=False)
    monkeypatch.delenv("BTC_STORE_URL", raising=False)
    missing = run("SELECT 1")
    assert missing.exit_code == 1
    nowhere = tmp_path / "empty" / "offline.duckdb"
    assert missing.output == f"Error: no offline store at {nowhere} (nothing drained yet?)\n"


def test_a_query_waits_for_a_drain_that_holds_the_store_or_says_so(tmp_path, monkeypatch) -> None:
    path = tmp_path / "offline.duckdb"
    trades = seeded(StoreLocation(file=path), monkeypatch)
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_WRITE_LOCK, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert writer.stdout.readline().strip() == "locked"
        busy = run("--wait", "0", "SELECT count(*) AS n FROM trades")
        assert busy.exit_code == 1
        assert busy.output == (
            f"Error: the offline store {path} is held by a writer (a drain) for more than 0 s;"
            " try again, or raise --wait\n"
        )
        waited = run("--wait", "60", "SELECT count(*) AS n FROM trades")  # the lock goes at 4 s
        assert waited.exit_code == 0, waited.output
        assert rows(waited) == [{"n": str(len(trades))}]
    finally:
        writer.kill()
        writer.wait()


def test_a_query_on_a_lake_reads_its_snapshot_while_a_writer_writes(tmp_path, monkeypatch, request):
    lake = lake_location(request, tmp_path, "sqlite")
    trades = seeded(lake, monkeypatch)
    writer = subprocess.Popen(
        [sys.executable, "-c", HOLD_LAKE_WRITE, str(lake.lake), str(lake.data_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert writer.stdout.readline().strip() == "writing"
        done = run("--wait", "0", "SELECT count(*) AS n FROM trades")
        assert done.exit_code == 0, done.output
        assert rows(done) == [{"n": str(len(trades))}]  # the committed snapshot, no waiting
    finally:
        writer.kill()
        writer.wait()
