"""The `trades` topic contract: encoding, decoding and validation messages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import orjson
import pytest

from btc_platform.trades import InvalidTrade, Trade, make_trade, trade_from_json

NOW = datetime(2026, 11, 28, tzinfo=UTC)
TRADE = Trade(
    "BTC/USD",
    42,
    datetime(2026, 11, 1, 12, 0, 0, 0, tzinfo=UTC),
    60_000.5,
    0.25,
    "sell",
    "limit",
    "kraken-ws",
)


def test_wire_format_round_trips_with_fixed_width_microseconds() -> None:
    payload = TRADE.to_json()
    assert orjson.loads(payload) == {
        "pair": "BTC/USD",
        "trade_id": 42,
        "price": 60_000.5,
        "qty": 0.25,
        "side": "sell",
        "ord_type": "limit",
        "ts": "2026-11-01T12:00:00.000000Z",
        "source": "kraken-ws",
    }
    assert trade_from_json(payload, NOW) == TRADE
    assert TRADE.key == b"BTC/USD"


@pytest.mark.parametrize(
    ("ts", "written"),
    [
        (datetime(2026, 11, 1, 12, 0, 0, 7, tzinfo=UTC), "2026-11-01T12:00:00.000007Z"),
        (datetime(2026, 11, 1, 12, 0, 0, 999_999, tzinfo=UTC), "2026-11-01T12:00:00.999999Z"),
        (datetime(2026, 11, 1, 12, 0, 0, 0, tzinfo=UTC), "2026-11-01T12:00:00.000000Z"),
        (
            datetime(2026, 11, 1, 14, 0, 0, 120, tzinfo=timezone(timedelta(hours=2))),
            "2026-11-01T12:00:00.000120Z",
        ),
        (
            datetime(2026, 11, 1, 12, 0, 0, 5, tzinfo=ZoneInfo("Etc/UTC")),
            "2026-11-01T12:00:00.000005Z",
        ),
    ],
)
def test_the_wire_time_always_has_six_microsecond_digits_in_utc(ts, written) -> None:
    payload = TRADE._replace(ts=ts).to_json()
    assert orjson.loads(payload)["ts"] == written
    assert trade_from_json(payload, NOW).ts == ts


def test_other_timezones_are_normalized_to_utc() -> None:
    plus_two = datetime(2026, 11, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    trade = make_trade(
        pair="BTC/USD",
        trade_id=1,
        ts=plus_two,
        price=1,
        qty=1,
        side="buy",
        ord_type="market",
        source="x",
        now=NOW,
    )
    assert trade.ts == datetime(2026, 11, 1, 12, 0, tzinfo=UTC) and trade.ts.tzinfo is UTC
    assert b'"ts":"2026-11-01T12:00:00.000000Z"' in trade.to_json()


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        (b"{", "not JSON"),
        (b"[]", "expected a JSON object, got list"),
        (b'{"pair": "BTC/USD"}', "missing field(s): trade_id, ts, price, qty, side, source"),
        (TRADE.to_json().replace(b'"trade_id":42', b'"trade_id":true'), "trade_id: True is not"),
        (TRADE.to_json().replace(b"2026-11-01T12", b"2008-11-01T12"), "is before 2009-01-03"),
        (TRADE.to_json().replace(b"Z", b""), "has no timezone"),
        (TRADE.to_json().replace(b"60000.5", b"NaN"), "not JSON"),
        (TRADE.to_json().replace(b"0.25", b"-0.25"), "qty: -0.25 must be a finite number > 0"),
    ],
)
def test_invalid_messages_say_what_is_wrong(payload: bytes, message: str) -> None:
    with pytest.raises(InvalidTrade) as error:
        trade_from_json(payload, NOW)
    assert message in str(error.value)
