"""Kraken WebSocket v2 `trade` channel client, with reconnects and REST gap fill.

Handles the per-symbol subscribe acks (success and failure), `status`, `heartbeat`,
`snapshot` and `update` messages carrying several trades, and `ping`/`pong`. Anything
unexpected (bad JSON, unknown messages, invalid trades, a pair that was not subscribed)
is yielded as `Rejected` with the raw message, and the stream goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from btc_platform.ingest.backoff import Backoff
from btc_platform.ingest.gap_filler import GapFiller
from btc_platform.ingest.kraken_rest import KrakenRest
from btc_platform.ingest.unreachable import Reachability, unreachable_reason
from btc_platform.logs import get_logger
from btc_platform.trades import InvalidTrade, Rejected, Trade, trade_from_fields

log = get_logger(__name__)

SOURCE = "kraken-ws"
# Our field names -> Kraken v2's names for them in a trade entry.
V2_FIELDS = {
    "pair": "symbol",
    "trade_id": "trade_id",
    "ts": "timestamp",
    "price": "price",
    "qty": "qty",
    "side": "side",
}


class SubscriptionError(RuntimeError):
    """Kraken refused every pair we asked for: nothing can be ingested."""


class KrakenTradeStream:
    def __init__(
        self,
        url: str,
        pairs: list[str],
        rest: KrakenRest,
        *,
        backoff: Backoff | None = None,
        ping_interval: float = 30.0,
        stale_after: float = 15.0,
    ) -> None:
        self.url = url
        self.pairs = frozenset(pairs)
        self.gaps = GapFiller(rest)
        self.backoff = backoff or Backoff(base=0.5, cap=30.0)
        self.ping_interval = ping_interval
        self.stale_after = stale_after
        self.connections = 0
        self.reachability = Reachability("the Kraken WebSocket", url)
        self._req_ids = itertools.count(1)

    async def trades(self) -> AsyncIterator[Trade | Rejected]:
        """Trades of the subscribed pairs, gap-free per pair, until cancelled."""
        while True:
            connected = False
            try:
                async with connect(self.url, max_size=2**22, open_timeout=10) as ws:
                    connected = True
                    self.connections += 1
                    self.reachability.reached()
                    log.info("kraken websocket connected", url=self.url, pairs=sorted(self.pairs))
                    async for item in self._session(ws):
                        yield item
            except (ConnectionClosed, InvalidHandshake, OSError, TimeoutError) as error:
                delay = self.backoff.next_delay()
                reason = None if connected else unreachable_reason(error)
                if reason:
                    self.reachability.failed(reason, delay)
                else:
                    log.warning(
                        "kraken websocket disconnected; reconnecting",
                        error=f"{type(error).__name__}: {error}",
                        retry_in=round(delay, 2),
                    )
                await asyncio.sleep(delay)

    async def _session(self, ws: ClientConnection) -> AsyncIterator[Trade | Rejected]:
        subscribe = {
            "method": "subscribe",
            "params": {"channel": "trade", "symbol": sorted(self.pairs), "snapshot": True},
            "req_id": next(self._req_ids),
        }
        await ws.send(orjson.dumps(subscribe).decode())
        pending = set(self.pairs)
        refused: set[str] = set()
        pinger = asyncio.create_task(self._ping(ws))
        try:
            while True:
                try:
                    raw = await asyncio.wait_for(ws.recv(decode=False), self.stale_after)
                except TimeoutError:
                    log.warning("kraken websocket silent; reconnecting", seconds=self.stale_after)
                    await ws.close()
                    raise
                for item in await self._handle(raw, pending, refused):
                    yield item
                if not pending and refused == self.pairs:
                    raise SubscriptionError(f"Kraken refused every pair: {sorted(refused)}")
        finally:
            pinger.cancel()

    async def _ping(self, ws: ClientConnection) -> None:
        with contextlib.suppress(ConnectionClosed):  # the reader notices and reconnects
            while True:
                await asyncio.sleep(self.ping_interval)
                ping = {"method": "ping", "req_id": next(self._req_ids)}
                await ws.send(orjson.dumps(ping).decode())

    async def _handle(
        self, raw: bytes, pending: set[str], refused: set[str]
    ) -> list[Trade | Rejected]:
        try:
            message = orjson.loads(raw)
        except orjson.JSONDecodeError as error:
            return [Rejected(raw, f"{SOURCE}: not JSON ({error})", SOURCE)]
        if not isinstance(message, dict):
            return [Rejected(raw, f"{SOURCE}: expected a JSON object", SOURCE)]
        method, channel = message.get("method"), message.get("channel")
        if method == "subscribe":
            self._on_subscribe(message, pending, refused)
            return []
        if method == "pong":
            return []
        if channel == "heartbeat":
            return []
        if channel == "status":
            self._on_status(message)
            return []
        if channel == "trade" and message.get("type") in {"snapshot", "update"}:
            return await self._on_trades(raw, message)
        return [Rejected(raw, f"{SOURCE}: unexpected message {str(message)[:120]}", SOURCE)]

    def _on_subscribe(self, message: dict, pending: set[str], refused: set[str]) -> None:
        result = message.get("result") or {}
        symbol = result.get("symbol") or message.get("symbol")
        pending.discard(symbol)
        if message.get("success"):
            self.backoff.reset()
            log.info("subscribed", pair=symbol, channel=result.get("channel"))
        else:
            refused.add(symbol)
            log.error("kraken refused subscription", pair=symbol, error=message.get("error"))

    def _on_status(self, message: dict) -> None:
        for status in message.get("data") or []:
            system = status.get("system") if isinstance(status, dict) else None
            (log.info if system == "online" else log.warning)(
                "kraken status", system=system, api_version=status.get("api_version")
            )

    async def _on_trades(self, raw: bytes, message: dict) -> list[Trade | Rejected]:
        data = message.get("data")
        if not isinstance(data, list):
            return [Rejected(raw, f"{SOURCE}: trade message without a data list", SOURCE)]
        out: list[Trade | Rejected] = []
        now = datetime.now(UTC)
        for index, entry in enumerate(data):
            try:
                trade = trade_from_fields(
                    entry, V2_FIELDS, now=now, source=SOURCE, pairs=self.pairs
                )
            except InvalidTrade as error:
                out.append(Rejected(raw, f"{SOURCE} data[{index}]: {error}", SOURCE))
                continue
            out.extend(await self.gaps.admit(trade))
        return out
