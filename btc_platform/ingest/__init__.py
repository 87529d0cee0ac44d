"""Trade sources (Kraken WebSocket v2, Kraken REST, Kraken CSV, synthetic) and the ingest loop."""

from __future__ import annotations

from collections.abc import AsyncIterator

from btc_platform.trades import Rejected, Trade

TradeStream = AsyncIterator[Trade | Rejected]
