"""Materialization metadata: what a run changed, the time covered, lag, a small preview."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime
from typing import TYPE_CHECKING

import dagster as dg
import duckdb
import pandas as pd

from btc_platform.drain import DrainResult

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PREVIEW_ROWS = 5


def markdown_table(frame: pd.DataFrame) -> dg.MetadataValue:
    header = "| " + " | ".join(map(str, frame.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in frame.columns) + " |"
    rows = ["| " + " | ".join(map(str, row)) + " |" for row in frame.itertuples(index=False)]
    return dg.MetadataValue.md("\n".join([header, rule, *rows]))


def trade_metadata(connection: duckdb.DuckDBPyConnection, result: DrainResult) -> dict:
    summary = connection.execute(
        "SELECT count(*) AS rows, min(ts) AS first, max(ts) AS newest FROM trades"
    ).df()
    newest = summary["newest"][0]
    lag = (
        (datetime.now(UTC).replace(tzinfo=None) - newest.to_pydatetime()).total_seconds()
        if pd.notna(newest)
        else None
    )
    preview = connection.execute(f"SELECT * FROM trades ORDER BY ts DESC LIMIT {PREVIEW_ROWS}").df()
    return {
        "messages_drained": result.messages,
        "rows_added": result.trades_added,
        "invalid_messages": result.invalid,
        "rows_total": int(summary["rows"][0]),
        "time_range": f"{summary['first'][0]} -> {newest}",
        "lag_seconds": dg.MetadataValue.float(round(lag, 1)) if lag is not None else None,
        "kafka_next_offsets": dg.MetadataValue.json(result.offsets),
        "preview": markdown_table(preview),
    }


def candle_metadata(connection: duckdb.DuckDBPyConnection, interval_seconds: int) -> dict:
    summary = connection.execute(
        """SELECT count(*) AS candles, count(DISTINCT pair) AS pairs,
                  min(window_start) AS first, max(window_start) AS newest,
                  count(*) FILTER (WHERE trade_count = 0) AS empty_windows
           FROM candles WHERE interval_seconds = ?""",
        [interval_seconds],
    ).df()
    by_pair = connection.execute(
        "SELECT pair, count(*) FROM candles WHERE interval_seconds = ? GROUP BY pair ORDER BY pair",
        [interval_seconds],
    ).fetchall()
    preview = connection.execute(
        f"SELECT * FROM candles WHERE interval_seconds = ? ORDER BY window_start DESC "
        f"LIMIT {PREVIEW_ROWS}",
        [interval_seconds],
    ).df()
    return {
        "candles_total": int(summary["candles"][0]),
        "pairs": int(summary["pairs"][0]),
        "candles_by_pair": dg.MetadataValue.json({pair: int(n) for pair, n in by_pair}),
        "time_range": f"{summary['first'][0]} -> {summary['newest'][0]}",
        "empty_windows": int(summary["empty_windows"][0]),
        "preview": markdown_table(preview),
    }


def figure_markdown(figure: Figure, title: str) -> dg.MetadataValue:
    """A matplotlib figure as a markdown image (PNG inline), closed afterwards."""
    import matplotlib.pyplot as plt  # heavy, only when a step draws

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode()
    return dg.MetadataValue.md(f"![{title}](data:image/png;base64,{encoded})")
