"""The Dagster layer: the real drain job, its asset checks, and the drain sensor."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
import orjson
import pytest
from kafka import KafkaProducer

from btc_platform.broker.publisher import TradePublisher
from btc_platform.broker.topics import Topics
from btc_platform.defs.definitions import build_definitions
from btc_platform.defs.resources import KafkaResource
from btc_platform.defs.sensors import drain_sensor
from btc_platform.ingest.synthetic import market_trades
from btc_platform.settings import load_settings


@pytest.fixture
def settings(broker, tmp_path, monkeypatch):
    monkeypatch.setenv("BTC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
    return load_settings()


def publish_synthetic(bootstrap: str, topic: str, tmp_path, count: int, start: datetime) -> None:
    publisher = TradePublisher(bootstrap, tmp_path / "spool.jsonl", Topics(trades=topic))
    for trade in itertools.islice(market_trades("BTC/USD", 9, start), count):
        publisher.publish(trade)
    assert publisher.close() == 0


def drain_definitions(settings, topic: str, predictions: str = "predictions") -> dg.Definitions:
    return build_definitions(settings, Topics(trades=topic, predictions=predictions))


def test_the_drain_job_materializes_trades_and_every_candle_asset(settings, topics, tmp_path):
    publish_synthetic(
        settings.kafka_bootstrap, topics.trades, tmp_path, 3_000, datetime(2026, 2, 1, tzinfo=UTC)
    )
    defs = drain_definitions(settings, topics.trades)
    result = defs.resolve_job_def("drain").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success

    materialized = {
        str(m.asset_key.to_user_string()): m.metadata
        for m in result.asset_materializations_for_node("drained_market_data")
    }
    assert set(materialized) == {"trades", "candles_1m"}
    assert materialized["trades"]["rows_added"].value == 3_000
    assert materialized["trades"]["kafka_next_offsets"].value == {"0": 3_000}
    assert "| pair | trade_id |" in materialized["trades"]["preview"].value
    checks = {e.check_name: e.passed for e in result.get_asset_check_evaluations()}
    assert checks == {
        "ohlc_invariants": True,
        "no_duplicate_trade_ids": True,
        "candle_continuity": True,
        "candle_freshness": False,  # synthetic trades from February: stale by design
    }
    with duckdb.connect(str(settings.offline_store), read_only=True) as connection:
        counts = dict(
            connection.execute(
                "SELECT interval_seconds, sum(trade_count) FROM candles GROUP BY 1"
            ).fetchall()
        )
    assert counts == {60: 3_000, 300: 3_000, 900: 3_000, 3_600: 3_000}


def test_drain_sensor_requests_one_run_per_new_position_and_none_in_flight(
    settings, topics, tmp_path
):
    kafka = KafkaResource(bootstrap=settings.kafka_bootstrap, trades_topic=topics.trades)
    instance = dg.DagsterInstance.ephemeral()
    sensor = drain_sensor(interval_seconds=15)
    assert sensor.minimum_interval_seconds == 15

    def evaluate() -> dg.SensorResult:
        context = dg.build_sensor_context(instance=instance, resources={"kafka": kafka})
        return sensor(context)

    assert evaluate().skip_reason.skip_message == "nothing new in Kafka `trades`"
    publish_synthetic(
        settings.kafka_bootstrap, topics.trades, tmp_path, 500, datetime(2026, 2, 1, tzinfo=UTC)
    )
    first, again = evaluate(), evaluate()
    [request] = first.run_requests
    assert request.run_key.startswith("drain-0:0-")
    assert [r.run_key for r in again.run_requests] == [request.run_key]  # stable for one state

    defs = drain_definitions(settings, topics.trades)
    assert defs.resolve_job_def("drain").execute_in_process(instance=instance).success
    assert evaluate().skip_reason.skip_message == "nothing new in Kafka `trades`"

    instance.add_run(
        dg.DagsterRun(job_name="drain", run_id="in-flight-run", status=dg.DagsterRunStatus.STARTED)
    )
    publish_synthetic(
        settings.kafka_bootstrap, topics.trades, tmp_path, 10, datetime(2026, 2, 2, tzinfo=UTC)
    )
    assert evaluate().skip_reason.skip_message == "drain run in-flight-run is in flight"


def test_the_drain_job_turns_served_predictions_into_live_accuracy(settings, topics, tmp_path):
    start = datetime(2026, 2, 1, tzinfo=UTC)
    publish_synthetic(settings.kafka_bootstrap, topics.trades, tmp_path, 3_000, start)
    # A prediction at each of the first ten candle closes: p50 = 0, a band of +-1 bp,
    # from a made-up price (so the outcome is far outside the band). The first four are
    # old-style records, from before one model per pair and horizon: no model name.
    producer = KafkaProducer(bootstrap_servers=settings.kafka_bootstrap)
    for minute in range(1, 11):
        answer = {
            "id": f"p{minute}",
            "pair": "BTC/USD",
            "horizon_minutes": 5,
            **({"model_name": "btc-price-BTC-USD-5m"} if minute > 4 else {}),
            "model_version": "7",
            "as_of": (start + timedelta(minutes=minute)).isoformat(),
            "current_price": 1.0,
            "predicted_return": 0.0,
            "band_low": 0.9999,
            "band_high": 1.0001,
        }
        producer.send(topics.predictions, orjson.dumps(answer))
    producer.flush()
    producer.close()
    defs = drain_definitions(settings, topics.trades, topics.predictions)
    result = defs.resolve_job_def("drain").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    assert result.success
    [drained] = result.asset_materializations_for_node("predictions")
    assert drained.metadata["rows_added"].value == 10
    [accuracy] = result.asset_materializations_for_node("live_accuracy")
    record = {
        "mae_skill": 0.0,
        "band_coverage": 0.0,
        "band_skill_vs_vol_scaled": None,  # an old-style record: no baseline band in it
        "band_scale": None,
    }
    assert accuracy.metadata["by_model"].value == {
        "": {"7": {"predictions": 4} | record},
        "btc-price-BTC-USD-5m": {"7": {"predictions": 6} | record},
    }
    assert accuracy.metadata["plot"].value.startswith("![live accuracy](data:image/png;base64,")
