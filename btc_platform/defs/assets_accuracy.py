"""`predictions` (the service's answers, drained from Kafka) -> `live_accuracy` (how they
turned out, per model version, over the last BTC_LIVE_WINDOW outcomes)."""

import dagster as dg
import pandas as pd

from btc_platform.defs.metadata import figure_markdown, markdown_table
from btc_platform.defs.resources import DUCKDB_POOL, KafkaResource, OfflineStoreResource
from btc_platform.store.offline_store import scalar
from btc_platform.training.live_accuracy import live_metrics, outcomes

GROUP = "monitoring"


@dg.asset(
    description="Every answered prediction, drained from Kafka `predictions`, keyed by id.",
    kinds={"kafka", "duckdb"},
    group_name=GROUP,
    pool=DUCKDB_POOL,
)
def predictions(kafka: KafkaResource, offline_store: OfflineStoreResource) -> dg.MaterializeResult:
    result = offline_store.drain_predictions(kafka)
    with offline_store.connect() as connection:
        total = scalar(connection, "SELECT count(*) FROM predictions")
    return dg.MaterializeResult(
        metadata={
            "messages_drained": result.messages,
            "rows_added": result.trades_added,
            "invalid_messages": result.invalid,
            "rows_total": int(total or 0),
        }
    )


def live_plot(turned_out: pd.DataFrame, window: int) -> dg.MetadataValue:
    from btc_platform.tracking import plots  # matplotlib: only when there is something to draw

    return figure_markdown(plots.live_accuracy(turned_out, window), "live accuracy")


def _rounded(value: float) -> float | None:
    """JSON-friendly: None for a metric the records could not give."""
    return None if pd.isna(value) else round(float(value), 6)


def live_accuracy_asset(window: int) -> dg.AssetsDefinition:
    @dg.asset(
        name="live_accuracy",
        deps=["predictions", "candles_1m"],
        description=f"How the live forecasts turned out, per model (one per pair and horizon) "
        f"and version over its last "
        f"{window} outcomes (a prediction's horizon must have passed): p50 error and skill "
        "against zero return, pinball skill against the volatility-scaled band, band "
        "coverage (overall and per volatility tercile), per-quantile calibration, Winkler, "
        "CRPS and the live band calibration's factor.",
        kinds={"duckdb", "pandas"},
        group_name=GROUP,
        pool=DUCKDB_POOL,
    )
    def _asset(offline_store: OfflineStoreResource) -> dg.MaterializeResult:
        with offline_store.connect() as connection:
            answered = connection.execute("SELECT * FROM predictions").df()
            closes = connection.execute(
                "SELECT pair, window_start, close FROM candles"
                " WHERE interval_seconds = ? AND final",
                [offline_store.candle_seconds],
            ).df()
            turned_out = outcomes(answered, closes, offline_store.candle_seconds)
            metrics = live_metrics(turned_out, window)
            connection.register("metrics", metrics)
            connection.execute("CREATE OR REPLACE TABLE live_accuracy AS SELECT * FROM metrics")
            connection.unregister("metrics")
        by_model: dict[str, dict[str, dict]] = {}
        for row in metrics.itertuples():
            by_model.setdefault(row.model_name, {})[row.model_version] = {
                "predictions": int(row.predictions),
                "mae_skill": round(float(row.mae_skill), 6),
                "band_coverage": round(float(row.band_coverage), 6),
                "band_skill_vs_vol_scaled": _rounded(row.band_skill_vs_vol_scaled),
                "band_scale": _rounded(row.band_scale),
            }
        return dg.MaterializeResult(
            metadata={
                "window": window,
                "by_model": dg.MetadataValue.json(by_model),
                "table": markdown_table(metrics.round(4)),
                **({"plot": live_plot(turned_out, window)} if len(turned_out) else {}),
            }
        )

    return _asset
