"""Kraken's names for a pair: WebSocket v2 uses `BTC/USD`, REST requests use `XBTUSD`."""

from __future__ import annotations

REST_ASSET_NAMES = {"BTC": "XBT", "DOGE": "XDG"}


def rest_pair(pair: str) -> str:
    base, quote = pair.split("/")
    return REST_ASSET_NAMES.get(base, base) + REST_ASSET_NAMES.get(quote, quote)
