"""One pair's live candles, built from trades with the one candle module (as the drain does).

Final candles are kept (the most recent `history`); trades of windows that are not final
yet are kept to recompute those windows whenever trades arrive. A trade for a window that
is already final, or one seen before, changes nothing.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta

import pandas as pd

from btc_platform.candles import CANDLE_TRADE_COLUMNS, DEFAULT_GRACE, candles_from_trades

TRADE_COLUMNS = list(CANDLE_TRADE_COLUMNS)
# What the live state keeps of each final candle: what the features read.
OHLCV = ["window_start", "open", "high", "low", "close", "volume"]
LIVE_CANDLE_COLUMNS = [*OHLCV, "trade_count", "buy_volume", "buy_count"]
LIVE_CANDLE_TYPES = {"window_start": "datetime64[us]"} | dict.fromkeys(
    LIVE_CANDLE_COLUMNS[1:], "float64"
)


class PairCandles:
    def __init__(
        self,
        pair: str,
        interval_seconds: int,
        history: int,
        final: pd.DataFrame | None = None,
        open_trades: pd.DataFrame | None = None,
    ) -> None:
        self.pair = pair
        self.interval = timedelta(seconds=interval_seconds)
        self.final: deque[tuple] = deque(maxlen=history)
        known = final if final is not None else pd.DataFrame(columns=LIVE_CANDLE_COLUMNS)
        # Imported OHLCV candles have no trade count or order flow (NULL: unknown): a store's
        # nullable integers become NaN here, kept unknown, never invented.
        typed = known.reindex(columns=LIVE_CANDLE_COLUMNS).astype(LIVE_CANDLE_TYPES)
        for row in typed.itertuples(index=False):
            self.final.append(tuple(row))
        self.trades = (
            open_trades[TRADE_COLUMNS].copy()
            if open_trades is not None
            else pd.DataFrame(columns=TRADE_COLUMNS)
        )
        self.ignored_late = 0

    @property
    def next_window(self) -> datetime | None:
        """Start of the first window that is not final yet (None before any final candle)."""
        return self.final[-1][0] + self.interval if self.final else None

    def candles(self) -> pd.DataFrame:
        """The final candles, oldest first."""
        frame = pd.DataFrame(list(self.final), columns=LIVE_CANDLE_COLUMNS)
        return frame.astype(LIVE_CANDLE_TYPES)

    def add(self, trades: pd.DataFrame) -> pd.DataFrame:
        """Take new trades (columns of TRADE_COLUMNS); returns the candles that became final
        (LIVE_CANDLE_COLUMNS, oldest first; all of them, even beyond `history`)."""
        start = self.next_window
        fresh = trades if start is None else trades[trades["ts"] >= start]
        self.ignored_late += len(trades) - len(fresh)
        fresh = fresh[~fresh["trade_id"].isin(self.trades["trade_id"])]
        fresh = fresh.drop_duplicates("trade_id")  # a re-sent message within one poll
        if fresh.empty:
            return pd.DataFrame(columns=LIVE_CANDLE_COLUMNS)
        self.trades = pd.concat([self.trades, fresh[TRADE_COLUMNS]], ignore_index=True)
        if start is not None and self.trades["ts"].max() < start + self.interval + DEFAULT_GRACE:
            return pd.DataFrame(columns=LIVE_CANDLE_COLUMNS)  # nothing can be final yet
        candles = candles_from_trades(
            self.trades,
            int(self.interval.total_seconds()),
            previous_close={self.pair: self.final[-1][4]} if self.final else None,
            since={self.pair: start} if start is not None else None,
        )
        closed = candles.loc[candles["final"], LIVE_CANDLE_COLUMNS].reset_index(drop=True)
        for row in closed.itertuples(index=False):
            self.final.append(tuple(row))
        if len(closed):
            self.trades = self.trades[self.trades["ts"] >= self.next_window]
        return closed
