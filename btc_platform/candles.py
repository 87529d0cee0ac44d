"""OHLC candles from trades, by event time: the one candle code path (drain, import, live).

A candle covers [window_start, window_start + interval). Open and close are the first and
last trade by (ts, trade_id); `vwap` is the volume-weighted price; `buy_volume` and
`buy_count` are the volume and number of trades whose aggressor bought (order flow). A
window without trades between two with trades is explicit: `trade_count` 0, volume 0, OHLC =
the previous close.
A candle is final once the pair's watermark (its newest trade time) has passed its end
plus a grace period; until then late trades may still change it.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import duckdb
import numpy as np
import pandas as pd

CANDLE_COLUMNS = [
    "pair",
    "interval_seconds",
    "window_start",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "trade_count",
    "vwap",
    "final",
    "buy_volume",
    "buy_count",
]
DEFAULT_GRACE = timedelta(seconds=10)
# What the candle query reads of each trade.
CANDLE_TRADE_COLUMNS = ("pair", "trade_id", "ts", "price", "qty", "side")


def window_start(ts: pd.Series, interval_seconds: int) -> pd.Series:
    return ts.dt.floor(f"{interval_seconds}s")


CANDLE_SQL = """
WITH agg AS (
    -- one pair's trades by integer window number; open/close: the first and last trade by
    -- (ts, trade_id), as one integer key ({order_key}): all much cheaper than time_bucket,
    -- ordered aggregates, FILTER clauses and a group key holding the pair
    SELECT epoch_us(ts) // {interval_us} AS bucket,
           arg_min(price, {order_key}) AS open,
           max(price) AS high, min(price) AS low,
           arg_max(price, {order_key}) AS close,
           sum(qty) AS volume, count(*) AS trade_count, sum(price * qty) / sum(qty) AS vwap,
           max(ts) AS newest,
           sum(qty * (side = 'buy')::DOUBLE) AS buy_volume,
           count_if(side = 'buy') AS buy_count
    FROM {trades} GROUP BY bucket
), span AS (
    SELECT least(min(bucket), epoch_us($grid_start::TIMESTAMP) // {interval_us}) AS lo,
           greatest(max(bucket), epoch_us($grid_end::TIMESTAMP) // {interval_us}) AS hi,
           max(newest) AS watermark
    FROM agg
), grid AS (
    SELECT unnest(range(lo, hi + 1)) AS bucket, watermark FROM span
), joined AS (
    SELECT g.bucket, g.watermark, a.* EXCLUDE (bucket, newest),
           coalesce(last_value(a.close IGNORE NULLS) OVER (
               ORDER BY g.bucket ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
               $previous_close::DOUBLE) AS carried
    FROM grid g LEFT JOIN agg a USING (bucket)
)
SELECT $pair::VARCHAR AS pair, {interval} AS interval_seconds,
       make_timestamp(bucket * {interval_us}) AS window_start,
       coalesce(open, carried) AS open, coalesce(high, carried) AS high,
       coalesce(low, carried) AS low, coalesce(close, carried) AS close,
       coalesce(volume, 0.0) AS volume, coalesce(trade_count, 0) AS trade_count,
       coalesce(vwap, carried) AS vwap,
       make_timestamp((bucket + 1) * {interval_us}) + to_seconds({grace_seconds}) <= watermark
           AS final,
       coalesce(buy_volume, 0.0) AS buy_volume, coalesce(buy_count, 0) AS buy_count
FROM joined
WHERE carried IS NOT NULL
ORDER BY bucket
"""


def candle_sql(
    trades: str,
    interval_seconds: int,
    grace: timedelta = DEFAULT_GRACE,
    max_trade_id: int | None = None,
) -> str:
    """The candle query over relation `trades` (trade_id, ts, price, qty, side) of one pair.

    Its parameters: `$pair`; `$grid_start` and `$grid_end`, where the grid of windows starts
    and ends (NULL: the trades decide); `$previous_close`, the close carried into leading
    empty windows (NULL: none). `trades` may use them too. `max_trade_id`, when the caller
    knows it, may let the order key be a BIGINT (see `order_key`).
    """
    interval_us = int(interval_seconds) * 1_000_000
    return CANDLE_SQL.format(
        trades=trades,
        interval=int(interval_seconds),
        interval_us=interval_us,
        order_key=order_key(interval_us, max_trade_id),
        grace_seconds=int(grace.total_seconds()),
    )


def order_key(interval_us: int, max_trade_id: int | None) -> str:
    """An integer that orders a window's trades by (ts, trade_id).

    Within one window, the time since the window's start takes `interval_us.bit_length()`
    bits: when every trade id fits in the rest of a BIGINT, the key is a BIGINT (a third
    cheaper to aggregate); otherwise a HUGEINT of the whole time and id (ids < 2^63)."""
    id_bits = 62 - interval_us.bit_length()
    if max_trade_id is not None and 0 <= max_trade_id < 2**id_bits:
        return f"(epoch_us(ts) % {interval_us}) * {2**id_bits} + trade_id"
    return f"epoch_us(ts)::HUGEINT * {2**63} + trade_id"


def candles_from_trades(
    trades: pd.DataFrame,
    interval_seconds: int,
    *,
    previous_close: dict[str, float] | None = None,
    since: dict[str, datetime] | None = None,
    until: dict[str, datetime] | None = None,
    grace: timedelta = DEFAULT_GRACE,
) -> pd.DataFrame:
    """Candles for every window from each pair's first trade window (or `since`) to its last
    (or `until`); leading empty windows carry `previous_close`.

    `trades` has columns pair, trade_id, ts (naive UTC), price, qty, side, and must hold each
    pair's newest trade: its time is the watermark that makes a candle `final`. Runs
    `CANDLE_SQL` (the query the offline store runs) on an in-memory DuckDB, pair by pair.
    """
    if trades.empty:
        return pd.DataFrame(columns=CANDLE_COLUMNS)
    parts = []
    with duckdb.connect() as connection:
        for pair, frame in trades[list(CANDLE_TRADE_COLUMNS)].groupby("pair", sort=True):
            connection.register("trades_frame", frame)
            query = candle_sql(
                "trades_frame", interval_seconds, grace, int(frame["trade_id"].max())
            )
            bounds = {
                "pair": pair,
                "grid_start": (since or {}).get(pair),
                "grid_end": (until or {}).get(pair),
                "previous_close": (previous_close or {}).get(pair),
            }
            parts.append(connection.execute(query, bounds).df())
    return pd.concat(parts, ignore_index=True)[CANDLE_COLUMNS]


def _ohlcv(
    grouped: pd.core.groupby.DataFrameGroupBy,
    ohlc: tuple[str, str, str, str],
    volume: str,
    count: tuple[str, str],
) -> pd.DataFrame:
    """Open/high/low/close/volume/count and vwap (close when there is no volume) per group;
    the groups carry a `notional` (price x quantity) column."""
    open_, high, low, close = ohlc
    result = grouped.agg(
        open=(open_, "first"),
        high=(high, "max"),
        low=(low, "min"),
        close=(close, "last"),
        volume=(volume, "sum"),
        trade_count=count,
        notional=("notional", "sum"),
    ).reset_index()
    traded = result["volume"] > 0
    result["vwap"] = np.where(
        traded, result["notional"] / result["volume"].where(traded), result["close"]
    )
    return result.drop(columns="notional")


def resample_candles(candles: pd.DataFrame, interval_seconds: int) -> pd.DataFrame:
    """Coarser candles from finer ones of the same pair(s) (e.g. 1m -> 5m).

    A coarse candle is final when every fine window it covers is final.
    """
    if candles.empty:
        return pd.DataFrame(columns=CANDLE_COLUMNS)
    ordered = candles.sort_values(["pair", "window_start"], kind="stable")
    fine_ends = ordered["window_start"] + pd.to_timedelta(ordered["interval_seconds"], unit="s")
    final_until = fine_ends.where(ordered["final"].astype(bool)).groupby(ordered["pair"]).max()
    coarse = window_start(ordered["window_start"], interval_seconds)
    notional = ordered["vwap"] * ordered["volume"]
    grouped = ordered.assign(coarse=coarse, notional=notional).groupby(["pair", "coarse"])
    result = _ohlcv(grouped, ("open", "high", "low", "close"), "volume", ("trade_count", "sum"))
    # Counts and order flow are unknown (NULL) for a coarse window when any fine one lacks them.
    counted = ["trade_count", "buy_volume", "buy_count"]
    sums = grouped[counted[1:]].sum().reset_index(drop=True)
    result[counted[1:]] = sums
    unknown = ordered[counted].isna().groupby([ordered["pair"], coarse]).any()
    result[counted] = result[counted].mask(unknown.reset_index(drop=True))
    result = result.rename(columns={"coarse": "window_start"})
    result.insert(1, "interval_seconds", interval_seconds)
    coarse_ends = result["window_start"] + pd.Timedelta(seconds=interval_seconds)
    result["final"] = (coarse_ends <= result["pair"].map(final_until)).fillna(False)
    return result[CANDLE_COLUMNS]
