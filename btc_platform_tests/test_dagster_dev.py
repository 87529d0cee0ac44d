"""`dagster dev` from the repo's workspace.yaml/dagster.yaml: the UI's view of the lineage,
the sensor launching a real drain run through the daemon, a retrain launched from the UI
with a custom budget, and a clean shutdown."""

from __future__ import annotations

import itertools
import os
import shutil
import signal
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psutil
import pytest
from mlflow.tracking import MlflowClient

from btc_platform.broker.publisher import TradePublisher
from btc_platform.ingest.synthetic import market_trades
from btc_platform.stack.child import default_sigint
from btc_platform_tests.candle_factory import market_candles, store_candles
from btc_platform_tests.conftest import free_port
from btc_platform_tests.polling import wait_until

ROOT = Path(__file__).resolve().parents[1]

OVERVIEW = """{
  assetNodes { assetKey { path } groupName kinds dependencyKeys { path } }
  repositoriesOrError { ... on RepositoryConnection { nodes {
    name location { name }
    sensors { name sensorState { status } }
    schedules { name cronSchedule scheduleState { status } }
    jobs { name }
  } } }
}"""
PARTITIONS = """{
  assetNodeOrError(assetKey: {path: ["champion"]}) { ... on AssetNode {
    partitionKeysByDimension { name partitionKeys }
  } }
  assetOrError(assetKey: {path: ["champion"]}) { ... on Asset {
    assetMaterializations { partition runId }
  } }
}"""
RUNS = "{ runsOrError { ... on Runs { results { runId jobName status } } } }"
LAUNCH = """mutation Launch($params: ExecutionParams!) {
  launchRun(executionParams: $params) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}"""
LINEAGE = {
    "trades": set(),
    "candles_1m": {"trades"},
    "candles_5m": {"candles_1m"},
    "candles_15m": {"candles_1m"},
    "candles_1h": {"candles_1m"},
    "features": {"candles_1m"},
    "backtest": {"features"},
    "training_set": {"features"},
    "price_model": {"training_set"},
    "champion": {"training_set", "price_model"},
    "predictions": set(),
    "live_accuracy": {"predictions", "candles_1m"},
}
# A retrain launched from the UI with a custom (small) search budget.
RETRAIN_CONFIG = {
    "ops": {"price_model": {"config": {"trials": 1, "cv_folds": 2, "n_estimators": [30, 30]}}}
}


def graphql(port: int, query: str, variables: dict | None = None) -> dict:
    answer = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query, "variables": variables or {}},
        timeout=10,
    )
    answer.raise_for_status()
    return answer.json()["data"]


def wait_for(condition, timeout: float, what: str) -> object:
    """Polls once a second; a UI that does not answer yet counts as not yet."""
    return wait_until(
        condition, timeout, what, interval=1, ignore=(httpx.HTTPError, KeyError, TypeError)
    )


def run_outcome(port: int, job: str, run_id: str | None = None) -> str | None:
    """The finished statuses of the job's runs (or of one run), or None while none ended."""
    statuses = [
        r["status"]
        for r in graphql(port, RUNS)["runsOrError"]["results"]
        if r["jobName"] == job and run_id in (None, r["runId"])
    ]
    done = {"SUCCESS", "FAILURE", "CANCELED"} & set(statuses)
    return ",".join(sorted(done)) or None


@pytest.mark.slow
def test_dagster_dev_shows_the_lineage_drains_and_retrains(broker, tmp_path) -> None:
    for name in ("workspace.yaml", "dagster.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    data_dir = tmp_path / ".btc-platform"
    store_candles(data_dir / "offline.duckdb", market_candles(1_500, seed=8))
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BTC_", "DAGSTER_", "MLFLOW_"))}
    env.update(
        BTC_DATA_DIR=str(data_dir),
        BTC_KAFKA_BOOTSTRAP=broker.bootstrap,
        BTC_DRAIN_SENSOR_SECONDS="1",
        BTC_HORIZONS="5,15",
    )
    # its output goes to a file: a pipe nobody reads fills up and blocks `dagster dev`
    log = (tmp_path / "dagster-dev.log").open("w")
    dev = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-h", "127.0.0.1", "-p", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        preexec_fn=default_sigint,  # SIGINT stops it even when the suite runs in the background
    )
    try:
        overview = wait_for(lambda: graphql(port, OVERVIEW), 90, "the Dagster UI")
        assets = {"/".join(n["assetKey"]["path"]): n for n in overview["assetNodes"]}
        lineage = {
            key: {"/".join(d["path"]) for d in node["dependencyKeys"]}
            for key, node in assets.items()
        }
        assert lineage == LINEAGE
        assert assets["trades"]["groupName"] == "market_data"
        assert set(assets["trades"]["kinds"]) == {"kafka", "duckdb"}
        assert assets["price_model"]["groupName"] == "training"
        assert set(assets["price_model"]["kinds"]) == {"xgboost", "mlflow", "optuna"}
        [repository] = overview["repositoriesOrError"]["nodes"]
        assert {"name": "drain_sensor", "sensorState": {"status": "RUNNING"}} in repository[
            "sensors"
        ]
        assert repository["schedules"] == [
            {
                "name": "retrain_schedule",
                "cronSchedule": "0 3 * * *",
                "scheduleState": {"status": "RUNNING"},
            }
        ]
        assert {"drain", "retrain"} <= {job["name"] for job in repository["jobs"]}

        launched = graphql(
            port,
            LAUNCH,
            {
                "params": {
                    "selector": {
                        "repositoryLocationName": repository["location"]["name"],
                        "repositoryName": repository["name"],
                        "jobName": "retrain",
                    },
                    "runConfigData": RETRAIN_CONFIG,
                    "executionMetadata": {
                        "tags": [
                            {"key": "dagster/partition", "value": "15m|BTC/USD"},
                            {"key": "dagster/partition/horizon", "value": "15m"},
                            {"key": "dagster/partition/pair", "value": "BTC/USD"},
                        ]
                    },
                }
            },
        )["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        retrain_id = launched["run"]["runId"]

        publisher = TradePublisher(broker.bootstrap, tmp_path / "spool.jsonl")
        for trade in itertools.islice(
            market_trades("BTC/USD", 4, datetime(2026, 4, 1, tzinfo=UTC)), 400
        ):
            publisher.publish(trade)
        assert publisher.close() == 0

        drained = wait_for(lambda: run_outcome(port, "drain"), 150, "a drain run by the sensor")
        assert drained == "SUCCESS"
        retrained = wait_for(lambda: run_outcome(port, "retrain", retrain_id), 240, "the retrain")
        assert retrained == "SUCCESS"
        store = f"sqlite:///{data_dir / 'mlflow.db'}"
        client = MlflowClient(tracking_uri=store, registry_uri=store)
        rule = client.get_model_version("btc-price-BTC-USD-15m", "1")  # the first champion
        assert rule.tags["baseline_rule"] == "ewma_blend_rule"
        version = client.get_model_version("btc-price-BTC-USD-15m", "2")
        assert version.tags["promotion.decision"] in {"promoted", "rejected"}
        assert client.get_run(version.run_id).data.params["trials"] == "1"
        # the UI lists the (pair, horizon) partitions and which one was materialized
        partitions = graphql(port, PARTITIONS)
        dimensions = partitions["assetNodeOrError"]["partitionKeysByDimension"]
        assert {d["name"]: d["partitionKeys"] for d in dimensions} == {
            "horizon": ["5m", "15m"],
            "pair": ["BTC/USD"],
        }
        materialized = partitions["assetOrError"]["assetMaterializations"]
        assert [(m["partition"], m["runId"]) for m in materialized] == [("15m|BTC/USD", retrain_id)]
    finally:
        children = psutil.Process(dev.pid).children(recursive=True)
        dev.send_signal(signal.SIGINT)
        try:
            dev.wait(180)  # generous: a drain run in flight finishes first
        finally:
            dev.kill()
            log.close()
    _, alive = psutil.wait_procs(children, timeout=30)  # it shuts down slowly
    leftovers = [" ".join(c.cmdline()[:4]) for c in alive if c.status() != psutil.STATUS_ZOMBIE]
    for child in alive:
        child.kill()
    assert leftovers == [], "dagster dev left processes behind"
