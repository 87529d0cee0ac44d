"""Batch decoding in DuckDB accepts exactly what `trade_from_json` accepts, value for value."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import orjson
import pytest

from btc_platform.store.schema import ensure_schema
from btc_platform.store.trade_decoding import BATCH_TABLE, decode_batch, wire_columns
from btc_platform.trades import InvalidTrade, Trade, trade_from_json

GOOD = Trade(
    "BTC/USD",
    42,
    datetime(2026, 11, 1, 12, 0, 0, 123456, tzinfo=UTC),
    60_000.5,
    0.25,
    "sell",
    "limit",
    "kraken-ws",
)


def variant(**changes: object) -> bytes:
    body = orjson.loads(GOOD.to_json())
    for key, value in changes.items():
        if value is ...:
            body.pop(key)
        else:
            body[key] = value
    return orjson.dumps(body)


PAYLOADS = [
    GOOD.to_json(),
    variant(trade_id=43, ts="2026-11-01T12:00:01+00:00"),  # another ISO form: the referee takes it
    variant(trade_id="44"),  # a numeric string: accepted by the contract
    variant(trade_id=45, price="60001.5", qty=1),
    variant(trade_id=46, ord_type=...),  # ord_type is optional
    variant(trade_id=47, extra="ignored"),
    variant(trade_id=4.5),
    variant(trade_id=-1),
    variant(trade_id=True),
    variant(trade_id=48, qty=True),
    variant(trade_id=49, price=0),
    variant(trade_id=50, price="abc"),
    variant(trade_id=51, side="up"),
    variant(trade_id=52, ord_type="stop"),
    variant(trade_id=53, ts="2008-01-01T00:00:00.000000Z"),
    variant(trade_id=54, ts="2099-01-01T00:00:00.000000Z"),
    variant(trade_id=55, ts="soon"),
    variant(trade_id=56, pair=7),
    variant(trade_id=57, source=...),
    b'{"pair": "BTC/USD", "trade_id": 58, "price": NaN}',
    b"[1, 2]",
    b"\xff\xfe not even text",
    b"",
]


def decoded_batch(payloads: list[bytes]) -> tuple[list[Trade], list[tuple[int, str]]]:
    """(the trades `batch_trades` holds, (index, reason) of each rejected message)."""
    with duckdb.connect() as connection:
        ensure_schema(connection)
        rejected = decode_batch(connection, payloads)
        rows = connection.execute(f"SELECT * FROM {BATCH_TABLE} ORDER BY trade_id").fetchall()
    trades = [
        Trade(p, i, ts.replace(tzinfo=UTC), pr, q, s, o, src) for p, i, ts, pr, q, s, o, src in rows
    ]
    return trades, sorted(rejected)


def referee_verdict(payloads: list[bytes]) -> tuple[list[Trade], list[int]]:
    """(the trades `trade_from_json` accepts, the indexes of those it rejects)."""
    accepted, rejected = [], []
    for index, payload in enumerate(payloads):
        try:
            accepted.append(trade_from_json(payload))
        except InvalidTrade:
            rejected.append(index)
    return sorted(accepted, key=lambda t: t.trade_id), rejected


def test_sql_decoding_agrees_with_the_contract_on_every_message() -> None:
    accepted, rejected_indexes = referee_verdict(PAYLOADS)
    assert [t.trade_id for t in accepted] == [42, 43, 44, 45, 46, 47]

    trades, rejected = decoded_batch(PAYLOADS)
    assert (trades, [index for index, _ in rejected]) == (accepted, rejected_indexes)
    reasons = dict(rejected)
    assert "trade_id: 4.5 is not an integer" in reasons[6]
    assert "side: 'up' is not one of buy, sell" in reasons[12]
    assert "missing field(s): source" in reasons[18]


GOOD_TEXT = GOOD.to_json()
# Messages Arrow reads with the wire schema: the bulk path decodes the batch in one pass.
IN_THE_MOULD = {
    "negative id": variant(trade_id=-1),
    "zero price": variant(price=0),
    "unknown side": variant(side="up"),
    "null ord_type": variant(ord_type=None),
    "no ord_type": variant(ord_type=...),
    "another ISO form": variant(ts="2026-11-01T12:00:01+00:00"),
    "not a time": variant(ts="soon"),
    "escaped side": GOOD_TEXT.replace(b'"sell"', b'"s\\u0065ll"'),
    "extra string": variant(extra="ignored"),
    "spaced out": b" " + GOOD_TEXT.replace(b",", b", ") + b" ",
    "pretty printed": orjson.dumps(orjson.loads(GOOD_TEXT), option=orjson.OPT_INDENT_2),
}
# Messages that break the newline-delimited mould: the batch is decoded message by message.
OUT_OF_THE_MOULD = {
    "string id": variant(trade_id="44"),
    "fractional id": variant(trade_id=4.5),
    "string price": variant(price="60001.5"),
    "NaN extra": GOOD_TEXT.replace(b"{", b'{"x": NaN, ', 1),
    "Infinity extra": GOOD_TEXT.replace(b"{", b'{"x": -Infinity, ', 1),
    "array extra": variant(extra=[1, 2]),
    "deep extra": GOOD_TEXT.replace(
        b"{", b'{"x": ' + b'{"y": ' * 1100 + b"1" + b"}" * 1100 + b", ", 1
    ),
    "bad UTF-8 extra": GOOD_TEXT.replace(b"{", b'{"x": "\xff", ', 1),
    "empty": b"",
    "blank": b" \t ",
    "two objects": GOOD_TEXT + GOOD_TEXT,
    "a list": b"[1, 2]",
}


@pytest.mark.parametrize(
    ("odd", "bulk"),
    [(p, True) for p in IN_THE_MOULD.values()] + [(p, False) for p in OUT_OF_THE_MOULD.values()],
    ids=[*IN_THE_MOULD, *OUT_OF_THE_MOULD],
)
def test_one_odd_message_in_a_batch_is_judged_as_the_contract_judges_it(
    odd: bytes, bulk: bool
) -> None:
    before, after = variant(trade_id=1), variant(trade_id=3, side="buy")
    batch = [before, odd, after] * 2
    assert (wire_columns(batch) is not None) == bulk
    trades, rejected = decoded_batch(batch)
    assert (trades, [index for index, _ in rejected]) == referee_verdict(batch)


def test_a_clean_batch_takes_the_bulk_path_value_for_value() -> None:
    batch = [variant(trade_id=i, price=60_000 + i / 8, qty=i / 1_000 + 1e-8) for i in range(5_000)]
    columns = wire_columns(batch)
    assert columns is not None and columns.num_rows == 5_000
    assert decoded_batch(batch) == (referee_verdict(batch)[0], [])
