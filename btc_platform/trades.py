"""The trade record: the contract of topic `trades`, its validation and its wire encoding.

`ts` on the wire is ISO-8601 UTC with microseconds and a `Z` suffix (Kraken v2's own form).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import orjson

SIDES = frozenset({"buy", "sell"})
ORDER_TYPES = frozenset({"market", "limit", "unknown"})
EARLIEST_TRADE = datetime(2009, 1, 3, tzinfo=UTC)  # the Bitcoin genesis block
MAX_CLOCK_SKEW = timedelta(minutes=5)
ZERO = timedelta(0)


class InvalidTrade(ValueError):
    """A trade failed validation; the message names the field and what was wrong."""


class Trade(NamedTuple):
    """One trade; a NamedTuple, so it is immutable and cheap to build on the hot path."""

    pair: str
    trade_id: int
    ts: datetime
    price: float
    qty: float
    side: str
    ord_type: str
    source: str

    def to_json(self) -> bytes:
        ts = self.ts
        # orjson writes an aware UTC time as `format_ts` does, five times faster than
        # isoformat, except that it drops a zero microsecond part: those go through format_ts
        when = ts if ts.tzinfo is UTC and ts.microsecond else format_ts(ts)
        return orjson.dumps(
            {
                "pair": self.pair,
                "trade_id": self.trade_id,
                "price": self.price,
                "qty": self.qty,
                "side": self.side,
                "ord_type": self.ord_type,
                "ts": when,
                "source": self.source,
            },
            option=orjson.OPT_UTC_Z,
        )

    @property
    def key(self) -> bytes:
        return self.pair.encode()


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def epoch_micros(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1)


def from_epoch_seconds(seconds: float) -> datetime:
    """Epoch seconds to UTC, rounded half-even to the microsecond (as numpy's rint does)."""
    return EPOCH + timedelta(microseconds=round(seconds * 1_000_000))


def format_ts(ts: datetime) -> str:
    """ISO-8601 UTC with microseconds and `Z`, e.g. 2024-08-01T00:00:00.000000Z."""
    if ts.utcoffset():
        ts = ts.astimezone(UTC)
    return ts.isoformat(timespec="microseconds")[:-6] + "Z"


def parse_ts(value: object, field: str = "ts") -> datetime:
    """Parse an ISO-8601 string or epoch seconds into an aware UTC datetime."""
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise InvalidTrade(f"{field}: {value!r} is not an ISO-8601 timestamp") from None
        if parsed.tzinfo is None:
            raise InvalidTrade(f"{field}: {value!r} has no timezone")
        return parsed.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        try:
            return from_epoch_seconds(value)
        except (OverflowError, ValueError):
            raise InvalidTrade(f"{field}: {value!r} is out of range") from None
    raise InvalidTrade(f"{field}: {value!r} is not a timestamp")


def _positive_number(value: object, field: str) -> float:
    if isinstance(value, bool):
        raise InvalidTrade(f"{field}: {value!r} is not a number")
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InvalidTrade(f"{field}: {value!r} is not a number") from None
    if not math.isfinite(number) or number <= 0:
        raise InvalidTrade(f"{field}: {value!r} must be a finite number > 0")
    return number


def _trade_id(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise InvalidTrade(f"trade_id: {value!r} is not an integer")
    try:
        trade_id = int(value)
    except ValueError:
        raise InvalidTrade(f"trade_id: {value!r} is not an integer") from None
    if trade_id < 0:
        raise InvalidTrade(f"trade_id: {value!r} must be >= 0")
    return trade_id


def make_trade(
    *,
    pair: object,
    trade_id: object,
    ts: object,
    price: object,
    qty: object,
    side: object,
    ord_type: object,
    source: str,
    now: datetime,
    pairs: frozenset[str] | None = None,
) -> Trade:
    """Validate raw field values into a Trade; `now` bounds the timestamp from above."""
    if not isinstance(pair, str) or (pairs is not None and pair not in pairs):
        expected = f" (subscribed: {', '.join(sorted(pairs))})" if pairs else ""
        raise InvalidTrade(f"pair: {pair!r} is not an expected pair{expected}")
    if side not in SIDES:
        raise InvalidTrade(f"side: {side!r} is not one of buy, sell")
    if ord_type not in ORDER_TYPES:
        raise InvalidTrade(f"ord_type: {ord_type!r} is not one of market, limit, unknown")
    when = ts if isinstance(ts, datetime) else parse_ts(ts)
    if when.utcoffset() != ZERO:
        if when.tzinfo is None:
            raise InvalidTrade(f"ts: {when} has no timezone")
        when = when.astimezone(UTC)
    if when < EARLIEST_TRADE:
        raise InvalidTrade(f"ts: {format_ts(when)} is before {EARLIEST_TRADE.date()}")
    if when > now + MAX_CLOCK_SKEW:
        raise InvalidTrade(f"ts: {format_ts(when)} is in the future (now {format_ts(now)})")
    return Trade(
        pair=pair,
        trade_id=_trade_id(trade_id),
        ts=when,
        price=_positive_number(price, "price"),
        qty=_positive_number(qty, "qty"),
        side=str(side),
        ord_type=str(ord_type),
        source=source,
    )


CONTRACT_FIELDS = {f: f for f in ("pair", "trade_id", "ts", "price", "qty", "side")}


def trade_from_fields(
    raw: object,
    names: dict[str, str],
    *,
    now: datetime,
    source: str | None = None,
    pairs: frozenset[str] | None = None,
) -> Trade:
    """Validate a decoded JSON object whose fields are named `names[ours]`.

    `ord_type` is optional; without `source`, the object's own `source` field is used.
    """
    if not isinstance(raw, dict):
        raise InvalidTrade(f"expected a JSON object, got {type(raw).__name__}")
    required = [*names.values(), *(() if source else ("source",))]
    missing = [field for field in required if field not in raw]
    if missing:
        raise InvalidTrade(f"missing field(s): {', '.join(missing)}")
    return make_trade(
        **{ours: raw[theirs] for ours, theirs in names.items()},
        ord_type=raw.get("ord_type", "unknown"),
        source=source or str(raw["source"]),
        now=now,
        pairs=pairs,
    )


def trade_from_json(payload: bytes, now: datetime | None = None) -> Trade:
    """Decode and re-validate a `trades` topic message (the consumer side of the contract)."""
    try:
        raw = orjson.loads(payload)
    except orjson.JSONDecodeError as error:
        raise InvalidTrade(f"not JSON: {error}") from None
    return trade_from_fields(raw, CONTRACT_FIELDS, now=now or datetime.now(UTC))


@dataclass(frozen=True, slots=True)
class Rejected:
    """Input that failed validation, kept raw for the dead-letter topic."""

    raw: bytes
    reason: str
    source: str
