"""The pure candle module: windows by event time, explicit gaps, resampling, finality."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from btc_platform.candles import candles_from_trades, resample_candles

T0 = datetime(2026, 1, 1, 12, 0)


def trades(*rows: tuple[str, int, float, float, float]) -> pd.DataFrame:
    """(pair, trade_id, seconds after T0, price, qty); even ids are buys, odd ones sells."""
    return pd.DataFrame(
        [
            (p, i, T0 + timedelta(seconds=s), price, qty, "buy" if i % 2 == 0 else "sell")
            for p, i, s, price, qty in rows
        ],
        columns=["pair", "trade_id", "ts", "price", "qty", "side"],
    )


def test_ohlcv_by_event_time_with_an_explicit_empty_minute() -> None:
    frame = trades(
        ("BTC/USD", 3, 50.0, 101.0, 1.0),  # arrives first, happened last in its minute
        ("BTC/USD", 1, 5.0, 100.0, 2.0),
        ("BTC/USD", 2, 50.0, 104.0, 1.0),  # same time as id 3: id order decides the close
        ("BTC/USD", 4, 185.0, 99.0, 4.0),
    )
    candles = candles_from_trades(frame, 60)
    minute = pd.Timedelta("1min")

    def row(
        m: int,
        o: float,
        h: float,
        low: float,
        c: float,
        v: float,
        n: int,
        w: float,
        final: bool,
        bought: tuple[float, int],
    ) -> dict:
        return {
            "pair": "BTC/USD",
            "interval_seconds": 60,
            "window_start": pd.Timestamp(T0) + m * minute,
            "open": o,
            "high": h,
            "low": low,
            "close": c,
            "volume": v,
            "trade_count": n,
            "vwap": w,
            "final": final,
            "buy_volume": bought[0],
            "buy_count": bought[1],
        }

    assert candles.to_dict("records") == [
        # id 2 (1.0 at 104) bought; ids 1 and 3 sold
        row(0, 100.0, 104.0, 100.0, 101.0, 4.0, 3, (200 + 104 + 101) / 4, True, (1.0, 1)),
        row(1, 101.0, 101.0, 101.0, 101.0, 0.0, 0, 101.0, True, (0.0, 0)),  # no trades: explicit
        # watermark 12:03:05 < 12:03:00 + 10 s grace: the last two may still change
        row(2, 101.0, 101.0, 101.0, 101.0, 0.0, 0, 101.0, False, (0.0, 0)),
        row(3, 99.0, 99.0, 99.0, 99.0, 4.0, 1, 99.0, False, (4.0, 1)),
    ]


def test_pairs_do_not_mix_and_previous_close_seeds_nothing_without_gaps() -> None:
    frame = trades(("BTC/USD", 1, 1.0, 100.0, 1.0), ("ETH/USD", 1, 2.0, 5.0, 3.0))
    candles = candles_from_trades(frame, 60, previous_close={"BTC/USD": 90.0})
    assert candles[["pair", "open", "close", "volume"]].values.tolist() == [
        ["BTC/USD", 100.0, 100.0, 1.0],
        ["ETH/USD", 5.0, 5.0, 3.0],
    ]


def test_until_extends_with_empty_candles_carrying_the_close() -> None:
    frame = trades(("BTC/USD", 1, 1.0, 100.0, 1.0))
    candles = candles_from_trades(
        frame, 60, until={"BTC/USD": T0 + timedelta(minutes=2, seconds=5)}
    )
    assert candles["trade_count"].tolist() == [1, 0, 0]
    assert candles["close"].tolist() == [100.0] * 3


@pytest.mark.parametrize("coarse", [300, 900, 3600])
def test_resampled_candles_equal_candles_built_directly(coarse: int) -> None:
    rows = [
        ("BTC/USD", i, i * 7.3 % 5400 + i * 0.001, 100 + (i * 37 % 11), 0.1 + i % 3)
        for i in range(2_000)
    ]
    frame = trades(*rows)
    direct = candles_from_trades(frame, coarse)
    resampled = resample_candles(candles_from_trades(frame, 60), coarse)
    pd.testing.assert_frame_equal(
        resampled.reset_index(drop=True), direct.reset_index(drop=True), check_dtype=False
    )


def test_resampling_keeps_unknown_counts_and_order_flow_unknown() -> None:
    """Imported candles have no trade count nor order flow: coarse ones must not invent 0."""
    fine = candles_from_trades(
        trades(("BTC/USD", 1, 1.0, 100.0, 1.0), ("BTC/USD", 2, 610.0, 101.0, 1.0)), 60
    )
    imported = fine.copy()
    imported.loc[:4, ["trade_count", "buy_volume", "buy_count"]] = None
    coarse = resample_candles(imported, 300)
    assert coarse[["trade_count", "buy_volume", "buy_count"]].iloc[0].isna().all()
    assert coarse[["trade_count", "buy_volume", "buy_count"]].iloc[1].tolist() == [0, 0.0, 0]
    assert coarse["volume"].tolist()[:2] == [1.0, 0.0]


@pytest.mark.parametrize("interval", [60, 3_600])
def test_open_and_close_are_the_first_and_last_trade_by_time_then_id_for_any_ids(
    interval: int,
) -> None:
    """Ties in time go to the lower trade id, with the BIGINT order key (ids that fit beside
    the time within a window) and the HUGEINT one (ids up to 2^63 - 1) alike."""
    small = trades(
        ("BTC/USD", 7, 0.5, 101.0, 1.0),
        ("BTC/USD", 5, 0.5, 100.0, 1.0),  # same time, lower id: the open
        ("BTC/USD", 9, 59.25, 110.0, 1.0),
        ("BTC/USD", 8, 59.25, 109.0, 1.0),  # same time as 9, lower id: 9 is the close
        ("BTC/USD", 6, 30.0, 90.0, 1.0),
        ("BTC/USD", 20, 10.0, 95.0, 1.0),  # the highest id, not the last by time
    )
    id_bits = 62 - (interval * 1_000_000).bit_length()
    for offset in (0, 2**id_bits, 2**63 - 100):  # BIGINT key, then HUGEINT just past it
        shifted = small.assign(trade_id=small["trade_id"] + offset)
        candle = candles_from_trades(shifted, interval).iloc[0]
        assert (candle["open"], candle["close"], candle["low"]) == (100.0, 110.0, 90.0), offset
        assert (candle["trade_count"], candle["buy_count"], candle["buy_volume"]) == (6, 3, 3.0)
