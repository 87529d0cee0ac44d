"""Batch decoding in DuckDB accepts exactly what `trade_from_json` accepts, value for value."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import duckdb
import orjson

from btc_platform.store.schema import ensure_schema
from btc_platform.store.trade_decoding import BATCH_TABLE, decode_batch
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


def test_sql_decoding_agrees_with_the_contract_on_every_message() -> None:
    expected: dict[int, Trade] = {}
    for index, payload in enumerate(PAYLOADS):
        with contextlib.suppress(InvalidTrade):
            expected[index] = trade_from_json(payload)
    assert sorted(t.trade_id for t in expected.values()) == [42, 43, 44, 45, 46, 47]

    with duckdb.connect() as connection:
        ensure_schema(connection)
        rejected = decode_batch(connection, PAYLOADS)
        rows = connection.execute(f"SELECT * FROM {BATCH_TABLE} ORDER BY trade_id").fetchall()
    decoded = [
        Trade(p, i, ts.replace(tzinfo=UTC), pr, q, s, o, src) for p, i, ts, pr, q, s, o, src in rows
    ]
    assert decoded == sorted(expected.values(), key=lambda t: t.trade_id)
    assert sorted(index for index, _ in rejected) == sorted(
        set(range(len(PAYLOADS))) - set(expected)
    )
    reasons = dict(rejected)
    assert "trade_id: 4.5 is not an integer" in reasons[6]
    assert "side: 'up' is not one of buy, sell" in reasons[12]
    assert "missing field(s): source" in reasons[18]
