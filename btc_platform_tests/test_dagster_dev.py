"""`dagster dev` from the repo's workspace.yaml/dagster.yaml: the UI's view of the assets,
the sensor launching a real drain run through the daemon, and a clean shutdown."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest

from btc_platform.broker.publisher import TradePublisher
from btc_platform.ingest.synthetic import market_trades
from btc_platform_tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]

OVERVIEW = """{
  assetNodes { assetKey { path } groupName kinds }
  repositoriesOrError { ... on RepositoryConnection { nodes {
    sensors { name sensorState { status } }
    jobs { name }
  } } }
}"""
RUNS = "{ runsOrError { ... on Runs { results { jobName status } } } }"


def graphql(port: int, query: str) -> dict:
    answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": query}, timeout=10)
    answer.raise_for_status()
    return answer.json()["data"]


def wait_for(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except (httpx.HTTPError, KeyError, TypeError):
            value = None
        if value:
            return value
        time.sleep(1)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")


@pytest.mark.slow
def test_dagster_dev_shows_the_lineage_and_the_sensor_drains(broker, tmp_path) -> None:
    for name in ("workspace.yaml", "dagster.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BTC_", "DAGSTER_"))}
    env.update(
        BTC_DATA_DIR=str(tmp_path / ".btc-platform"),
        BTC_KAFKA_BOOTSTRAP=broker.bootstrap,
        BTC_DRAIN_SENSOR_SECONDS="1",
    )
    dev = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        overview = wait_for(lambda: graphql(port, OVERVIEW), 90, "the Dagster UI")
        assets = {"/".join(n["assetKey"]["path"]): n for n in overview["assetNodes"]}
        assert set(assets) == {"trades", "candles_1m", "candles_5m", "candles_15m", "candles_1h"}
        assert assets["trades"]["groupName"] == "market_data"
        assert set(assets["trades"]["kinds"]) == {"kafka", "duckdb"}
        [repository] = overview["repositoriesOrError"]["nodes"]
        assert {"name": "drain_sensor", "sensorState": {"status": "RUNNING"}} in repository[
            "sensors"
        ]

        publisher = TradePublisher(broker.bootstrap, tmp_path / "spool.jsonl")
        for trade in itertools.islice(
            market_trades("BTC/USD", 4, datetime(2026, 4, 1, tzinfo=UTC)), 400
        ):
            publisher.publish(trade)
        assert publisher.close() == 0

        def drain_outcome() -> str | None:
            statuses = [
                r["status"]
                for r in graphql(port, RUNS)["runsOrError"]["results"]
                if r["jobName"] == "drain"
            ]
            done = {"SUCCESS", "FAILURE", "CANCELED"} & set(statuses)
            return ",".join(sorted(done)) or None

        assert wait_for(drain_outcome, 150, "a drain run launched by the sensor") == "SUCCESS"
    finally:
        children = psutil.Process(dev.pid).children(recursive=True)
        dev.send_signal(signal.SIGINT)
        try:
            dev.wait(60)
        finally:
            dev.kill()
    _, alive = psutil.wait_procs(children, timeout=30)  # it shuts down slowly
    leftovers = [" ".join(c.cmdline()[:4]) for c in alive if c.status() != psutil.STATUS_ZOMBIE]
    for child in alive:
        child.kill()
    assert leftovers == [], "dagster dev left processes behind"
