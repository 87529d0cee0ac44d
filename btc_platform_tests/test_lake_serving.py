"""A real `bentoml serve` on a DuckLake store: it warms up from the lake's committed
snapshot while a writer holds a transaction open, and answers from it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from btc_platform.broker.topics import Topics
from btc_platform.drain import drain
from btc_platform.serving.runtime import HISTORY
from btc_platform.settings import load_settings
from btc_platform.store.store_connection import open_store
from btc_platform.tracking.registry import Registry
from btc_platform_tests.conftest import (
    HOLD_LAKE_WRITE,
    free_port,
    lake_location,
    own_embedded_broker,
    store_env,
)
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.serving_helpers import market, publish_trades
from btc_platform_tests.test_champion_watcher import MODEL
from btc_platform_tests.test_service_http import serve, service_env, train


@pytest.mark.slow
def test_bentoml_serve_warms_up_from_a_lake_while_a_writer_writes(
    model_settings, monkeypatch, tmp_path, request
):
    lake = lake_location(request, tmp_path, "sqlite")
    with own_embedded_broker(tmp_path / "broker") as broker:
        monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
        for name, value in store_env(lake).items():
            monkeypatch.setenv(name, value)
        settings = load_settings()
        assert settings.offline_store == lake
        end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        trades = market(end - timedelta(minutes=HISTORY + 60), end)
        publish_trades(broker.bootstrap, Topics(), tmp_path / "spool.jsonl", trades)
        drain(broker.bootstrap, lake, "trades", 60)
        version = train(settings, seed=1)
        Registry(MODEL).promote(version)
        with open_store(lake, read_only=True) as connection:
            last_start, last_close = connection.execute(
                "SELECT window_start, close FROM candles WHERE final"
                " ORDER BY window_start DESC LIMIT 1"
            ).fetchall()[0]

        writer = subprocess.Popen(
            [sys.executable, "-c", HOLD_LAKE_WRITE, str(lake.lake), str(lake.data_path)],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert writer.stdout.readline().strip() == "writing"  # trades deleted, uncommitted
            port = free_port()
            url = f"http://127.0.0.1:{port}"
            env = service_env(settings, broker.bootstrap, **store_env(lake))
            with serve(env, port, tmp_path / "serve.log") as served:
                wait_until(lambda: http_status(f"{url}/readyz") == 200, 180, "ready")
                answer = httpx.post(f"{url}/predict", json={"pair": "BTC/USD"}, timeout=10)
                assert answer.status_code == 200, answer.text
                assert writer.poll() is None  # the transaction was open all along
        finally:
            writer.kill()
            writer.wait()
    forecast = answer.json()
    assert forecast["model_version"] == version
    assert datetime.fromisoformat(forecast["as_of"]) == (last_start + timedelta(minutes=1)).replace(
        tzinfo=UTC
    )
    assert forecast["current_price"] == pytest.approx(last_close)
    assert "warmed up from the offline store" in served.output, served.output[-3000:]
