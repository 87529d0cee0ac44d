"""WebSocket v2 and REST servers that speak Kraken's wire formats, with scripted faults.

The exchange "happens" as the WebSocket stream advances: a trade is visible to REST once
it has happened. Faults: drop the connection after N trades (trades keep happening while
the client is away), skip trade ids on the stream, inject raw messages, and answer
`EGeneral:Too many requests` to every k-th REST request.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from websockets.asyncio.server import ServerConnection, serve

from btc_platform.ingest.kraken_symbols import rest_pair
from btc_platform_tests.fake_kraken.ledger import LedgerTrade

# Kraken answers a request for XBTUSD under its own legacy name.
REST_RESULT_KEYS = {"XBTUSD": "XXBTZUSD", "ETHUSD": "XETHZUSD"}


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass
class Script:
    """What the fake exchange does; tests set these before the client connects."""

    batch: int = 3  # trades per update message
    interval: float = 0.002  # seconds between update messages
    drops: list[tuple[int, int]] = field(
        default_factory=list
    )  # (after N trades, missed while away)
    skip_ids: set[int] = field(default_factory=set)  # never sent on the stream
    inject: dict[int, list[bytes]] = field(default_factory=dict)  # raw messages before trade #
    rate_limit_every: int = 0  # every k-th REST request is refused
    page_size: int = 1000
    snapshot_size: int = 50


class FakeKraken:
    def __init__(self, ledgers: dict[str, list[LedgerTrade]], script: Script | None = None) -> None:
        self.ledgers = ledgers
        self.script = script or Script()
        self.happened = dict.fromkeys(ledgers, 0)  # per pair: how many trades have happened
        self.connections = 0
        self.rest_requests = 0
        self.rest_refused = 0
        self.pings = 0
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run_ws, daemon=True)
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._rest_handler())
        self._http_thread = threading.Thread(target=self._http.serve_forever, daemon=True)
        self.ws_port = 0

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/v2"

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}"

    def __enter__(self) -> FakeKraken:
        self._thread.start()
        self._http_thread.start()
        self._ready.wait(10)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)
        self._http.shutdown()
        self._http.server_close()

    # --- WebSocket v2 -------------------------------------------------------------------

    def _run_ws(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_until_complete(self._serve())

    async def _serve(self) -> None:
        self._stop = asyncio.Event()
        async with serve(self._session, "127.0.0.1", 0) as server:
            self.ws_port = next(iter(server.sockets)).getsockname()[1]
            self._ready.set()
            await self._stop.wait()

    async def _session(self, ws: ServerConnection) -> None:
        self.connections += 1
        drop = (
            self.script.drops[self.connections - 1]
            if self.connections <= len(self.script.drops)
            else None
        )
        await ws.send(
            json.dumps(
                {
                    "channel": "status",
                    "type": "update",
                    "data": [
                        {
                            "api_version": "v2",
                            "connection_id": self.connections,
                            "system": "online",
                            "version": "2.0.0",
                        }
                    ],
                }
            )
        )
        request = json.loads(await ws.recv())
        pairs = [p for p in request["params"]["symbol"] if p in self.ledgers]
        for symbol in request["params"]["symbol"]:
            await ws.send(json.dumps(self._ack(symbol, request.get("req_id"))))
        for pair in pairs:
            seen = self.ledgers[pair][: self.happened[pair]][-self.script.snapshot_size :]
            await ws.send(
                json.dumps(
                    {"channel": "trade", "type": "snapshot", "data": [t.ws(pair) for t in seen]}
                )
            )
        pings = asyncio.create_task(self._answer_pings(ws))
        try:
            await self._stream(ws, pairs, drop)
        finally:
            pings.cancel()

    def _ack(self, symbol: str, req_id: object) -> dict:
        common = {
            "method": "subscribe",
            "time_in": _stamp(),
            "time_out": _stamp(),
            "req_id": req_id,
        }
        if symbol in self.ledgers:
            return {
                **common,
                "success": True,
                "result": {"channel": "trade", "snapshot": True, "symbol": symbol},
            }
        return {
            **common,
            "success": False,
            "symbol": symbol,
            "error": f"Currency pair not supported {symbol}",
        }

    async def _answer_pings(self, ws: ServerConnection) -> None:
        async for raw in ws:
            message = json.loads(raw)
            if message.get("method") == "ping":
                self.pings += 1
                await ws.send(
                    json.dumps(
                        {
                            "method": "pong",
                            "req_id": message.get("req_id"),
                            "time_in": _stamp(),
                            "time_out": _stamp(),
                        }
                    )
                )

    async def _stream(
        self, ws: ServerConnection, pairs: list[str], drop: tuple[int, int] | None
    ) -> None:
        sent = 0
        for pair in itertools.cycle(pairs):
            ledger = self.ledgers[pair]
            if all(self.happened[p] >= len(self.ledgers[p]) for p in pairs):
                await ws.send(json.dumps({"channel": "heartbeat"}))
                await asyncio.sleep(0.2)
                continue
            start = self.happened[pair]
            batch = ledger[start : start + self.script.batch]
            if not batch:
                continue
            for raw in self._injections(start, len(batch)):
                await ws.send(raw.decode())
            self.happened[pair] = start + len(batch)
            data = [t.ws(pair) for t in batch if t.trade_id not in self.script.skip_ids]
            if data:
                await ws.send(json.dumps({"channel": "trade", "type": "update", "data": data}))
            sent += len(batch)
            if drop and sent >= drop[0]:
                for p in pairs:  # the market goes on while the client is away
                    self.happened[p] = min(len(self.ledgers[p]), self.happened[p] + drop[1])
                await ws.close()
                return
            await asyncio.sleep(self.script.interval)

    def _injections(self, start: int, count: int) -> list[bytes]:
        return [raw for i in range(start, start + count) for raw in self.script.inject.pop(i, [])]

    # --- REST -----------------------------------------------------------------------------

    def _rest_handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                url = urlparse(self.path)
                body = fake._trades(url.path, parse_qs(url.query))
                payload = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        return Handler

    def _trades(self, path: str, query: dict[str, list[str]]) -> dict:
        with self._lock:
            self.rest_requests += 1
            every = self.script.rate_limit_every
            if every and self.rest_requests % every == 0:
                self.rest_refused += 1
                return {"error": ["EGeneral:Too many requests"]}
        if path != "/0/public/Trades":
            return {"error": ["EGeneral:Unknown method"]}
        requested = query.get("pair", [""])[0]
        pair = next((p for p in self.ledgers if rest_pair(p) == requested), None)
        if pair is None:
            return {"error": ["EQuery:Unknown asset pair"]}
        since = int(query.get("since", ["0"])[0])
        visible = self.ledgers[pair][: self.happened[pair]]
        page = [t for t in visible if t.time_ns > since][: self.script.page_size]
        last = page[-1].time_ns if page else since
        return {
            "error": [],
            "result": {
                REST_RESULT_KEYS.get(requested, requested): [t.rest() for t in page],
                "last": str(last),
            },
        }

    def everything_happened(self) -> None:
        """Make the whole ledger visible to REST (history that happened before the test)."""
        for pair, ledger in self.ledgers.items():
            self.happened[pair] = len(ledger)
