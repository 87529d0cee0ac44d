"""The prediction log delivers what it can and shuts down quietly when the broker is gone."""

from __future__ import annotations

import orjson
from structlog.testing import capture_logs

from btc_platform.broker.topics import Topics
from btc_platform.serving.prediction_log import PredictionLog
from btc_platform_tests.conftest import crash_broker, own_embedded_broker
from btc_platform_tests.kafka_helpers import read_topic


def test_predictions_reach_the_topic_and_a_shutdown_without_the_broker_counts_the_unsent(tmp_path):
    topic = Topics().predictions
    with own_embedded_broker(tmp_path / "broker") as broker:
        predictions = PredictionLog(broker.bootstrap, topic)
        ids = [predictions.publish({"pair": "BTC/USD", "price": 100.0 + n}) for n in range(3)]
        delivered = read_topic(broker.bootstrap, topic, expect=3)
        assert [orjson.loads(record.value)["id"] for record in delivered] == ids
        assert [record.key for record in delivered] == [b"BTC/USD"] * 3

        crash_broker(broker)
        for n in range(5):
            predictions.publish({"pair": "BTC/USD", "price": 200.0 + n})
        with capture_logs() as logs:
            predictions.close(timeout=1.0)
    [shutdown] = [entry for entry in logs if "at shutdown" in entry["event"]]
    assert shutdown["unsent"] == 5
    assert shutdown["error"] == "KafkaTimeoutError"
