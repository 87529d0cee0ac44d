"""Faults a running `bentoml serve` survives, on real processes: the embedded broker killed
(its topics are in memory: they go with it) and started again, and the MLflow server that
holds the registry killed and started again. Trades keep coming in real time throughout,
through the ingest publisher (which buffers while the broker is away)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import psutil
import pytest

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.drain import drain
from btc_platform.settings import load_settings
from btc_platform.tracking.mlflow_setup import use_tracking
from btc_platform.tracking.registry import Registry
from btc_platform_tests.conftest import crash_broker, free_port, own_embedded_broker
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.serving_helpers import PAIR, LiveMarket
from btc_platform_tests.test_champion_watcher import MODEL
from btc_platform_tests.test_service_http import serve, service_env, train

REGISTRY_PASSWORD = "registry-pass-4242"
MAX_AGE = 80  # BTC_MAX_FEATURE_AGE_SECONDS: a live candle's features are < 60 s + a trade old


def start_mlflow_server(directory: Path, port: int) -> subprocess.Popen:
    """`mlflow server` on a SQLite registry and a local artifact store, answering."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "mlflow.log").open("a") as log:
        server = subprocess.Popen(
            [
                *(sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1"),
                *("--port", str(port), "--workers", "1"),
                *("--backend-store-uri", f"sqlite:///{directory / 'mlflow.db'}"),
                *("--artifacts-destination", str(directory / "artifacts")),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    health = f"http://127.0.0.1:{port}/health"
    wait_until(lambda: http_status(health) == 200, 240, "mlflow server", process=server)
    return server


def kill_tree(process: subprocess.Popen) -> None:
    """SIGKILL for the process and its children (uvicorn's workers), as a crash."""
    try:
        for child in psutil.Process(process.pid).children(recursive=True):
            child.kill()
    except psutil.NoSuchProcess:
        pass
    process.kill()
    process.wait(30)


class Stack:
    """The processes of the faults: the broker, the market, the MLflow server, the service."""

    def __init__(self, broker: EmbeddedBroker, market: LiveMarket, data: Path) -> None:
        self.broker, self.market = broker, market
        self.port = free_port()
        self.url, self.log = f"http://127.0.0.1:{self.port}", data / "serve.log"
        self.mlflow_dir, self.mlflow_port = data / "mlflow", free_port()
        self.registry = start_mlflow_server(self.mlflow_dir, self.mlflow_port)

    @property
    def tracking_uri(self) -> str:
        # credentials in the URI (the server ignores them): they must never show
        return f"http://btc:{REGISTRY_PASSWORD}@127.0.0.1:{self.mlflow_port}"

    def predict(self) -> httpx.Response:
        return httpx.post(f"{self.url}/predict", json={"pair": PAIR}, timeout=30)


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    """A real `bentoml serve` with a champion from a real `mlflow server`, trades streaming."""
    data = tmp_path_factory.mktemp("faults")
    with own_embedded_broker(data / "broker") as broker, pytest.MonkeyPatch.context() as env:
        live = LiveMarket(broker.bootstrap, data / "spool.jsonl")
        stack = Stack(broker, live, data)
        try:
            env.setenv("BTC_DATA_DIR", str(data))
            env.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
            env.setenv("MLFLOW_TRACKING_URI", stack.tracking_uri)
            settings = load_settings()
            use_tracking(stack.tracking_uri)
            drain(broker.bootstrap, settings.offline_store, "trades", 60)
            Registry(MODEL).promote(train(settings, seed=1))
            live.start()
            served_env = service_env(
                settings,
                broker.bootstrap,
                BTC_CHAMPION_POLL_SECONDS="1",
                BTC_MAX_FEATURE_AGE_SECONDS=str(MAX_AGE),
            )
            with serve(served_env, stack.port, stack.log):
                ready = f"{stack.url}/readyz"
                wait_until(lambda: http_status(ready) == 200, 240, "the service ready")
                # (ready once warmed up from the store: then it catches up with Kafka)
                wait_until(lambda: stack.predict().status_code == 200, 120, "fresh features")
                yield stack
        finally:
            live.stop()
            kill_tree(stack.registry)


@pytest.mark.slow
@pytest.mark.timeout(900)  # with the module's setup: an MLflow server, a champion, the service
def test_the_registry_gone_the_champion_serves_on_and_the_model_card_says_why(stack) -> None:
    first = stack.predict()
    assert first.status_code == 200, first.text
    version = first.json()["model_version"]
    kill_tree(stack.registry)

    def card_problem() -> str | None:
        return httpx.get(f"{stack.url}/model", timeout=30).json()["loading_problem"]

    problem = wait_until(card_problem, 120, "/model to report the registry")
    assert problem.startswith(f"{MODEL}: registry unavailable: "), problem
    assert REGISTRY_PASSWORD not in problem and "btc:***@127.0.0.1" in problem
    answer = stack.predict()
    assert answer.status_code == 200, answer.text
    assert answer.json()["model_version"] == version

    stack.registry = start_mlflow_server(stack.mlflow_dir, stack.mlflow_port)
    wait_until(lambda: card_problem() is None, 120, "the problem cleared")
    assert stack.predict().json()["model_version"] == version
    assert REGISTRY_PASSWORD not in stack.log.read_text(), "a registry credential was logged"


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_the_broker_gone_answers_go_on_then_say_stale_then_resume_counting_once(stack) -> None:
    before = stack.predict()
    assert before.status_code == 200, before.text
    with stack.market.lock:
        crash_broker(stack.broker)
        sent_before = list(stack.market.sent)
    killed_at = time.monotonic()

    # The service answers from its last state until the newest candle is too old...
    assert stack.predict().status_code == 200
    stale = wait_until(
        lambda: (r := stack.predict()).status_code == 503 and r, MAX_AGE + 90, "stale features"
    )
    assert time.monotonic() - killed_at <= MAX_AGE + 5
    assert stale.json()["error"].startswith(f"features for {PAIR} are stale ("), stale.text
    assert f"(limit {MAX_AGE} s, BTC_MAX_FEATURE_AGE_SECONDS)" in stale.json()["error"]

    # ...and the broker back, empty: what it held was in memory, the trades it had taken
    # but the service had not read yet too. Ingest sends what it buffered meanwhile, and
    # the trades of the last minute before the outage again, as its REST backfill does
    # after a reconnect. The service follows again, and no trade counts twice.
    stack.broker.start()
    ensure_topics(stack.broker.bootstrap, Topics().all())
    for trade in sent_before[-150:]:
        stack.market.publish(trade)
    fresh = wait_until(
        lambda: (r := stack.predict()).status_code == 200 and r, 180, "answers again"
    )
    assert fresh.json()["as_of"] > before.json()["as_of"]

    board = httpx.get(f"{stack.url}/dashboard/data", timeout=30).json()
    expected = stack.market.candles()
    shown = pd.DataFrame(board["candles"])
    ends = pd.to_datetime(shown["t"].str.rstrip("Z"))
    # the candles through the outage and after it, as the trades of each make them
    assert ends.iloc[-1] >= pd.Timestamp(fresh.json()["as_of"]).tz_localize(None)
    starts = ends - pd.Timedelta(minutes=1)
    got = shown.set_index(starts)[["close", "volume"]]
    want = expected.loc[starts, ["close", "volume"]]
    differ = (got - want).abs().max(axis=1) > 1e-9 * want["volume"].abs().max()
    assert not differ.any(), f"killed after {sent_before[-1].ts}:\n{got[differ]}\n{want[differ]}"
    pd.testing.assert_series_equal(
        shown["close"], expected.loc[starts, "close"].reset_index(drop=True), check_names=False
    )
    pd.testing.assert_series_equal(
        shown["volume"],
        expected.loc[starts, "volume"].reset_index(drop=True),
        check_names=False,
        rtol=1e-9,
    )
