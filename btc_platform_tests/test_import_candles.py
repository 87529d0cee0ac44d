"""`btc-platform import-candles`: Kraken OHLCVT CSVs into the candles table, idempotently."""

from __future__ import annotations

import duckdb

from btc_platform_tests.cli_helpers import cli_env, run_cli
from btc_platform_tests.conftest import shared_file


def candles(store) -> list[tuple]:
    with duckdb.connect(str(store), read_only=True) as connection:
        return connection.execute(
            "SELECT pair, interval_seconds, epoch(window_start)::BIGINT, open, high, low, close,"
            " volume, trade_count, final FROM candles ORDER BY window_start"
        ).fetchall()


def test_seven_columns_bad_lines_reported_and_reimport_is_a_no_op(tmp_path) -> None:
    path = tmp_path / "XBTUSD_1.csv"
    path.write_text(
        "1722003300,67745.75,67784.0,67726.0,67768.0,26.98425,310\n"
        "1722003360,67768.0,67810.0,67730.0,67740.33,26.43686,288\n"
        "1722003420,67740,67700,67750,67745,1.0,3\n"  # high below low
        "1722003450,67745,67750,67740,67745,1.0,3\n"  # not on a minute boundary
        "1722003480,abc,67750,67740,67745,1.0,3\n"
    )
    env = cli_env(tmp_path, "127.0.0.1:1")
    first = run_cli(["import-candles", str(path), "--pair", "btc/usd", "--interval", "1m"], env)
    assert first.returncode == 0, first.stderr
    assert "loaded 2 of 5 candles" in first.stdout
    assert first.stderr.splitlines() == [
        "rejected: XBTUSD_1.csv line 3: low <= open, close <= high does not hold",
        "rejected: XBTUSD_1.csv line 4: timestamp is not on a 60s boundary",
        "rejected: XBTUSD_1.csv line 5: open is not a number",
    ]
    store = tmp_path / "offline.duckdb"
    expected = [
        ("BTC/USD", 60, 1722003300, 67745.75, 67784.0, 67726.0, 67768.0, 26.98425, 310, True),
        ("BTC/USD", 60, 1722003360, 67768.0, 67810.0, 67730.0, 67740.33, 26.43686, 288, True),
    ]
    assert candles(store) == expected
    assert run_cli(["import-candles", str(path), "--pair", "BTC/USD"], env).returncode == 0
    assert candles(store) == expected


def test_a_wrong_shape_and_a_bad_interval_are_usage_errors(tmp_path) -> None:
    path = tmp_path / "x.csv"
    path.write_text("1,2,3\n")
    env = cli_env(tmp_path, "127.0.0.1:1")
    shape = run_cli(["import-candles", str(path), "--pair", "BTC/USD"], env)
    assert (
        shape.returncode == 2 and "expected 6 or 7 columns (Kraken OHLCVT), got 3" in shape.stderr
    )
    interval = run_cli(["import-candles", str(path), "--pair", "BTC/USD", "--interval", "5x"], env)
    assert (
        interval.returncode == 2
        and "'5x' is not an interval like 60, 1m, 15m or 1h" in interval.stderr
    )


def test_the_real_august_2024_candles_load_whole(tmp_path) -> None:
    path = shared_file("binance_BTCUSDT_1m_2024-08.csv")
    result = run_cli(
        ["import-candles", str(path), "--pair", "BTC/USD"], cli_env(tmp_path, "127.0.0.1:1")
    )
    assert "loaded 43209 of 43209 candles" in result.stdout
    rows = candles(tmp_path / "offline.duckdb")
    assert (min(r[6] for r in rows), max(r[6] for r in rows)) == (49338.49, 69988.01)
    assert all(r[8] is None for r in rows)  # six columns: no trade count
