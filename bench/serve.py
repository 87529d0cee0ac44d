"""Serving benchmark: `/predict` of the real `bentoml serve` under a fixed concurrency for a
fixed number of requests (p50/p95/p99 latency, req/s), against a bare FastAPI app serving
the same XGBoost model measured in the same run; the in-process predict time; and the time
from the trade that closes a candle to the prediction for it being ready; and
`/predict_candles` with the minimum window (the features' warm-up + 1 candles).

Targets: p50 <= 5 ms, p99 <= 25 ms, throughput >= 0.5x the bare app; `/predict_candles`
p50 <= 30 ms.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import numpy as np
import orjson
from machine import context
from workspace import bench_workspace

from btc_platform.broker.topics import Topics
from btc_platform.drain import drain
from btc_platform.features.compute import FEATURES
from btc_platform.logs import configure_logging
from btc_platform.serving.champion import load_served_model
from btc_platform.serving.live_candles import PairCandles
from btc_platform.serving.live_features import latest_features
from btc_platform.serving.runtime import HISTORY
from btc_platform.serving.trade_follower import decode
from btc_platform.store.store_connection import open_store
from btc_platform.tracking.registry import Registry
from btc_platform_tests.conftest import free_port
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.serving_helpers import market, publish_trades
from btc_platform_tests.test_service_http import train

ROOT = Path(__file__).resolve().parents[1]


def load(url: str, requests: int, concurrency: int) -> tuple[list[float], float]:
    """Latencies (s) of `requests` POST /predict spread over `concurrency` clients."""
    latencies: list[float] = []
    failures: list[str] = []
    per_client = requests // concurrency

    def client() -> None:
        with httpx.Client(base_url=url, timeout=10) as http:
            for _ in range(per_client):
                started = time.perf_counter()
                try:
                    answer = http.post("/predict", json={"pair": "BTC/USD"})
                except httpx.HTTPError as error:
                    failures.append(f"{type(error).__name__}: {error}")
                    return
                latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    failures.append(f"HTTP {answer.status_code}: {answer.text[:300]}")
                    return

    threads = [threading.Thread(target=client) for _ in range(concurrency)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:  # figures from dead clients are not figures
        raise SystemExit(f"{url}: {len(failures)} client(s) failed, first: {failures[0]}")
    return latencies, time.perf_counter() - started


def report(name: str, latencies: list[float], elapsed: float) -> float:
    ms = np.percentile(np.array(latencies) * 1000, [50, 95, 99])
    rate = len(latencies) / elapsed
    latency = f"p50 {ms[0]:6.2f} ms  p95 {ms[1]:6.2f} ms  p99 {ms[2]:6.2f} ms"
    print(f"  {name:24} {latency}  {rate:7.0f} req/s")
    return rate


def start(command: list[str], env: dict[str, str], url: str, ready: str) -> subprocess.Popen:
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    wait_until(lambda: http_status(url + ready) == 200, 120, command[2])
    return process


def client_candles(settings) -> list[dict]:
    """The newest minimum window of stored candles, as a client sends them."""
    with open_store(settings.offline_store, read_only=True) as connection:
        frame = connection.execute(
            "SELECT strftime(window_start, '%Y-%m-%dT%H:%M:%SZ') AS window_start,"
            " open, high, low, close, volume, trade_count, buy_volume, buy_count"
            " FROM candles WHERE final ORDER BY window_start DESC LIMIT ?",
            [FEATURES.warmup_candles + 1],
        ).df()
    return frame.iloc[::-1].to_dict("records")


WARM_UP_REQUESTS = 5


def predict_candles_latency(url: str, candles: list[dict], requests: int) -> None:
    # encoded once: the client's own JSON encoding (3 ms here) is not the service's latency
    body = orjson.dumps({"pair": "BTC/USD", "candles": candles})
    headers = {"content-type": "application/json"}
    latencies = []
    with httpx.Client(base_url=url, timeout=30, headers=headers) as http:
        for _ in range(WARM_UP_REQUESTS):  # the first loads what the features import lazily
            assert http.post("/predict_candles", content=body).status_code == 200
        for _ in range(requests):
            started = time.perf_counter()
            answer = http.post("/predict_candles", content=body)
            latencies.append(time.perf_counter() - started)
            assert answer.status_code == 200, answer.text
    p50 = statistics.median(latencies) * 1000
    verdict = "met" if p50 <= 30 else "NOT met"
    print(
        f"/predict_candles, {len(candles)} candles (the minimum), {requests} requests "
        f"after {WARM_UP_REQUESTS}: "
        f"p50 {p50:.1f} ms, max {max(latencies) * 1000:.1f} ms  (target p50 <= 30 ms: {verdict})"
    )


def close_to_prediction(trades, model) -> list[float]:
    """Seconds from handing over the trades that close a candle to its prediction being ready."""
    frame, _ = decode([t.to_json() for t in trades], duckdb.connect())
    candles = PairCandles("BTC/USD", 60, HISTORY)
    timings = []
    for _, batch in frame.groupby(frame["ts"].dt.floor("10s")):
        started = time.perf_counter()
        if not candles.add(batch).empty:
            features = latest_features("BTC/USD", candles.candles(), 60)
            if features is not None:
                model.quantiles(features.values)
                timings.append(time.perf_counter() - started)
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3_000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[2, 8])
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    print(context())
    # the benchmark's market ended when it was set up: its features may be old
    with bench_workspace(BTC_MAX_FEATURE_AGE_SECONDS="86400") as workspace:
        data, broker, env, settings = (
            workspace.data,
            workspace.broker,
            workspace.env,
            workspace.settings,
        )
        end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        trades = market(end - timedelta(minutes=HISTORY + 60), end)
        publish_trades(broker.bootstrap, Topics(), data / "spool.jsonl", trades)
        drain(broker.bootstrap, settings.offline_store, "trades", 60)
        version = train(settings, seed=1)
        registry = Registry(settings.model_name_of(settings.default_pair_horizon))
        registry.promote(version)
        model = load_served_model(registry, version, {})
        window = client_candles(settings)

        row = np.full(len(FEATURES.columns), 0.5)
        runs = 2_000
        started = time.perf_counter()
        for _ in range(runs):
            model.quantiles(row)
        in_process = (time.perf_counter() - started) / runs
        closes = close_to_prediction(trades, model)

        bento_url, bare_url = (
            f"http://127.0.0.1:{free_port()}",
            f"http://127.0.0.1:{free_port()}",
        )
        bento_server = start(
            [sys.executable, "-m", "bentoml", "serve", "--port", bento_url.rsplit(":", 1)[1]],
            env,
            bento_url,
            "/readyz",
        )
        bare_env = env | {"MODEL_NAME": registry.model_name, "MODEL_VERSION": version}
        bare_server = start(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.bare_app:app",
                "--port",
                bare_url.rsplit(":", 1)[1],
                "--log-level",
                "warning",
            ],
            bare_env,
            bare_url,
            "/docs",
        )
        servers = (bento_server, bare_server)
        try:
            load(bento_url, 200, 4)  # warm both up
            load(bare_url, 200, 4)
            predict_candles_latency(bento_url, window, 100)
            for clients in args.concurrency:
                print(f"/predict, {args.requests} requests, concurrency {clients}:")
                bento = report("bentoml serve", *load(bento_url, args.requests, clients))
                bare = report("bare FastAPI (reference)", *load(bare_url, args.requests, clients))
                print(f"  throughput ratio         {bento / bare:.2f}  (target >= 0.50)")
        finally:
            for process in servers:
                process.terminate()
                process.wait(30)
        print(f"in-process model predict    {in_process * 1e6:8.1f} us")
        print(
            f"candle close -> prediction  median {statistics.median(closes) * 1000:.1f} ms, "
            f"max {max(closes) * 1000:.1f} ms over {len(closes)} candles"
        )


if __name__ == "__main__":
    main()
