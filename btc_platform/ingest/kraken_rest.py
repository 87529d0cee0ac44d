"""Kraken REST `/0/public/Trades`: pages with the `last` cursor, dedupes by trade id.

A trade row is `[price, volume, time, side b/s, ord_type m/l, misc, trade_id]`; the result
is keyed by Kraken's own name for the pair (a request for XBTUSD answers under XXBTZUSD).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime

import httpx
import orjson

from btc_platform.ingest.backoff import Backoff
from btc_platform.ingest.kraken_symbols import rest_pair
from btc_platform.ingest.unreachable import Reachability, Unreachable, unreachable_reason
from btc_platform.logs import get_logger
from btc_platform.trades import InvalidTrade, Rejected, Trade, make_trade

log = get_logger(__name__)

SOURCE = "kraken-rest"
RATE_LIMITED = "EGeneral:Too many requests"
SIDES = {"b": "buy", "s": "sell"}
ORDER_TYPES = {"m": "market", "l": "limit"}


class KrakenRestError(RuntimeError):
    """Kraken answered with an error that retrying will not fix."""


@dataclass(frozen=True, slots=True)
class TradesPage:
    trades: list[Trade | Rejected]
    last: int  # Kraken's cursor: a nanosecond timestamp, passed back as `since`


def parse_rest_trade(pair: str, row: object, now: datetime) -> Trade | Rejected:
    try:
        if not isinstance(row, list) or len(row) < 7:
            raise InvalidTrade(f"expected a 7-element trade array, got {row!r}")
        price, volume, when, side, ord_type, _misc, trade_id = row[:7]
        return make_trade(
            pair=pair,
            trade_id=trade_id,
            ts=when,
            price=price,
            qty=volume,
            side=SIDES.get(side, side),
            ord_type=ORDER_TYPES.get(ord_type, ord_type),
            source=SOURCE,
            now=now,
        )
    except InvalidTrade as error:
        return Rejected(orjson.dumps(row), f"{SOURCE} {pair}: {error}", SOURCE)


class KrakenRest:
    def __init__(
        self,
        base_url: str,
        *,
        client: httpx.AsyncClient | None = None,
        backoff: Backoff | None = None,
        max_attempts: int = 12,
        timeout: float = 15.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = client or httpx.AsyncClient(timeout=timeout)
        self._backoff = backoff or Backoff(base=1.0, cap=60.0)
        self.max_attempts = max_attempts
        self.requests = 0
        self.rate_limited = 0
        self.reachability = Reachability("the Kraken REST API", self.base_url)

    async def aclose(self) -> None:
        await self._client.aclose()

    async def trades_page(self, pair: str, since: int | None = None) -> TradesPage:
        params: dict[str, str | int] = {"pair": rest_pair(pair)}
        if since is not None:
            params["since"] = since
        body = await self._get("/0/public/Trades", params)
        result = body.get("result")
        if not isinstance(result, dict) or "last" not in result:
            raise KrakenRestError(f"Trades for {pair}: unexpected answer {str(body)[:200]}")
        rows = [value for key, value in result.items() if key != "last"]
        if len(rows) != 1 or not isinstance(rows[0], list):
            raise KrakenRestError(f"Trades for {pair}: expected one pair in {list(result)}")
        now = datetime.now(UTC)
        trades = [parse_rest_trade(pair, row, now) for row in rows[0]]
        return TradesPage(trades, int(result["last"]))

    async def trades_since(
        self,
        pair: str,
        since: int,
        *,
        after_id: int = -1,
        until_id: int | None = None,
        until: datetime | None = None,
    ) -> AsyncIterator[Trade | Rejected]:
        """Trades after `after_id` from cursor `since` on, in id order, each exactly once.

        Stops at `until_id` / `until`, or when a page brings nothing new (caught up).
        """
        cursor, newest = since, after_id
        while True:
            page = await self.trades_page(pair, cursor)
            if not page.trades:
                return
            fresh = 0
            for item in page.trades:
                if isinstance(item, Trade):
                    if item.trade_id <= newest:
                        continue  # re-read at a page boundary
                    if until is not None and item.ts > until:
                        return
                    newest = item.trade_id
                fresh += 1
                yield item
                if until_id is not None and newest >= until_id:
                    return
            if fresh == 0 and page.last <= cursor + 1:
                return
            # `since` is exclusive: stepping back 1 ns re-reads trades that share the last
            # timestamp (dropped above by id) instead of skipping those the page cut off.
            cursor = page.last - 1 if fresh else page.last

    async def _get(self, path: str, params: dict[str, str | int]) -> dict:
        url = self.base_url + path
        attempt = 0
        while attempt < self.max_attempts:
            self.requests += 1
            outcome = await self._attempt(url, params)
            if isinstance(outcome, dict):
                self._backoff.reset()
                self.reachability.reached()
                return outcome
            delay = self._backoff.next_delay()
            if isinstance(outcome, Unreachable):  # retried until the network is back
                self.reachability.failed(outcome.reason, delay)
            else:
                attempt += 1
                log.warning(
                    "kraken rest retry", url=url, reason=outcome, attempt=attempt, delay=delay
                )
            await asyncio.sleep(delay)
        raise KrakenRestError(f"{url}: gave up after {self.max_attempts} attempts")

    async def _attempt(self, url: str, params: dict[str, str | int]) -> dict | str | Unreachable:
        """The decoded body, or the reason to retry; raises on errors retrying won't fix."""
        try:
            response = await self._client.get(url, params=params)
        except httpx.HTTPError as error:
            reason = unreachable_reason(error)
            return Unreachable(reason) if reason else f"{type(error).__name__}: {error}"
        if response.status_code == 429 or response.status_code >= 500:
            return f"HTTP {response.status_code}"
        try:
            body = response.json()
        except ValueError:
            return f"HTTP {response.status_code} with a body that is not JSON"
        errors = (body.get("error") or []) if isinstance(body, dict) else ["not a JSON object"]
        if any(RATE_LIMITED in str(error) for error in errors):
            self.rate_limited += 1
            return RATE_LIMITED
        if errors:
            raise KrakenRestError(f"{url} {params}: {', '.join(map(str, errors))}")
        return body
