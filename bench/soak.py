"""Soak: a real `bentoml serve` for `--minutes` (10) under a paced mix of good and malformed
requests (`--rate`, 250 req/s) while trades stream in real time and, half-way, a new champion
is promoted. Prints p50/p99 latency, the rate reached, answers by kind and status, and the
service's memory (RSS of its process tree) per minute.

Targets: no 5xx and no unexpected status (a good request answered 200, a malformed one 400),
>= 200 req/s reached, RSS growth < 10% from minute 2 to the last; the new champion serves.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

import httpx
import numpy as np
import psutil
from machine import context
from workspace import bench_workspace

from btc_platform.drain import drain
from btc_platform.logs import configure_logging
from btc_platform.tracking.mlflow_setup import use_tracking
from btc_platform.tracking.registry import Registry
from btc_platform_tests.conftest import free_port
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.serving_helpers import PAIR, LiveMarket
from btc_platform_tests.test_service_http import serve, train

# (kind, method, path, body or raw bytes, the status it must get), in the proportions sent
MIX = [
    *[("good", "POST", "/predict", {"pair": PAIR}, 200)] * 14,
    ("model card", "GET", "/model", None, 200),
    ("unknown pair", "POST", "/predict", {"pair": "ETH/USD"}, 400),
    ("bad pair", "POST", "/predict", {"pair": "btc usd"}, 400),
    ("bad horizon", "POST", "/predict", {"pair": PAIR, "horizon_minutes": 0}, 400),
    ("garbled json", "POST", "/predict", b"{not json", 400),
    ("too few candles", "POST", "/predict_candles", {"pair": PAIR, "candles": []}, 400),
]


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    good_latencies: list[float] = field(default_factory=list)
    statuses: Counter = field(default_factory=Counter)  # (kind, status)
    unexpected: list[str] = field(default_factory=list)
    versions: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, kind: str, expected: int, response: httpx.Response, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)
            self.statuses[(kind, response.status_code)] += 1
            if response.status_code != expected and len(self.unexpected) < 20:
                self.unexpected.append(f"{kind}: {response.status_code} {response.text[:200]}")
            if kind == "good" and response.status_code == 200:
                self.good_latencies.append(seconds)
                self.versions[response.json()["model_version"]] += 1

    def failed(self, kind: str, error: Exception) -> None:
        with self.lock:
            self.statuses[(kind, type(error).__name__)] += 1
            self.unexpected.append(f"{kind}: {type(error).__name__}: {error}")


def send(http: httpx.Client, method: str, path: str, body: object) -> httpx.Response:
    if isinstance(body, bytes):
        headers = {"content-type": "application/json"}
        return http.request(method, path, content=body, headers=headers)
    return http.request(method, path, json=body)


def client(url: str, rate: float, deadline: float, offset: int, tally: Tally) -> None:
    """Requests at `rate` per second until `deadline`, on its own schedule (catching up when
    behind), cycling through MIX from `offset`."""
    interval, next_at = 1 / rate, time.monotonic()
    with httpx.Client(base_url=url, timeout=30) as http:
        for kind, method, path, body, expected in itertools.islice(
            itertools.cycle(MIX), offset, None
        ):
            now = time.monotonic()
            if now >= deadline:
                return
            if next_at > now:
                time.sleep(next_at - now)
            next_at += interval
            started = time.perf_counter()
            try:
                response = send(http, method, path, body)
            except httpx.HTTPError as error:
                tally.failed(kind, error)
                continue
            tally.add(kind, expected, response, time.perf_counter() - started)


def tree_rss(pid: int) -> int:
    root = psutil.Process(pid)
    processes = [root, *root.children(recursive=True)]
    total = 0
    for process in processes:
        try:
            total += process.memory_info().rss
        except psutil.NoSuchProcess:
            continue
    return total


def service_pid(port: int) -> int:
    """The `bentoml serve` listening on `port` (the tree's root)."""
    for process in psutil.process_iter(["cmdline"]):
        line = process.info["cmdline"] or []
        if "bentoml" in " ".join(line) and "serve" in line and str(port) in line:
            return process.pid
    raise SystemExit(f"no bentoml serve on port {port}")


def soak(url: str, pid: int, minutes: float, rate: float, clients: int, swap) -> dict:
    tally = Tally()
    started = time.monotonic()
    deadline = started + minutes * 60
    threads = [
        threading.Thread(target=client, args=(url, rate / clients, deadline, i * 3, tally))
        for i in range(clients)
    ]
    for thread in threads:
        thread.start()
    rss: dict[int, list[int]] = {}
    swapped = False
    while any(thread.is_alive() for thread in threads):
        time.sleep(5)
        elapsed = time.monotonic() - started
        rss.setdefault(int(elapsed // 60), []).append(tree_rss(pid))
        if not swapped and elapsed >= minutes * 30:
            swap()
            swapped = True
            print(f"  {elapsed:5.0f} s  new champion promoted", flush=True)
        if int(elapsed) % 60 < 5:
            with tally.lock:
                sent, bad = len(tally.latencies), len(tally.unexpected)
            print(
                f"  {elapsed:5.0f} s  {sent:8d} answers ({sent / elapsed:5.0f} req/s), "
                f"{bad} unexpected, service RSS {tree_rss(pid) / 2**20:6.0f} MiB",
                flush=True,
            )
    for thread in threads:
        thread.join()
    return {"tally": tally, "elapsed": time.monotonic() - started, "rss": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--rate", type=float, default=250, help="requests per second sent")
    parser.add_argument("--clients", type=int, default=8)
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    print(context())
    with bench_workspace(BTC_CHAMPION_POLL_SECONDS="2") as workspace:
        data, broker, env, settings = (
            workspace.data,
            workspace.broker,
            workspace.env,
            workspace.settings,
        )
        use_tracking(str(settings.mlflow_tracking_uri))
        market = LiveMarket(broker.bootstrap, data / "spool.jsonl")
        drain(broker.bootstrap, settings.offline_store, "trades", 60)
        first, second = train(settings, seed=1), train(settings, seed=2)
        registry = Registry(settings.model_name_of(settings.default_pair_horizon))
        registry.promote(first)
        market.start()
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        try:
            with serve(env, port, data / "serve.log"):
                wait_until(lambda: http_status(f"{url}/readyz") == 200, 300, "the service")
                wait_until(
                    lambda: httpx.post(f"{url}/predict", json={"pair": PAIR}).status_code == 200,
                    120,
                    "fresh features",
                )
                print(
                    f"soak: {args.minutes:g} min at {args.rate:g} req/s over {args.clients} "
                    f"clients, trades streaming, champion v{first} -> v{second} half-way"
                )
                result = soak(
                    url,
                    service_pid(port),
                    args.minutes,
                    args.rate,
                    args.clients,
                    lambda: registry.promote(second),
                )
        finally:
            market.stop()
    verdicts = report(result, second)
    if not all(verdicts):
        raise SystemExit("soak: a target was NOT met (see above)")


def report(result: dict, second: str) -> list[bool]:
    tally: Tally = result["tally"]
    answers = len(tally.latencies)
    rate = answers / result["elapsed"]
    ms = np.percentile(np.array(tally.latencies) * 1000, [50, 99])
    good = np.percentile(np.array(tally.good_latencies) * 1000, [50, 99])
    print(f"answers: {answers} in {result['elapsed']:.0f} s ({rate:.0f} req/s)")
    print(f"latency, all:  p50 {ms[0]:.1f} ms  p99 {ms[1]:.1f} ms")
    print(f"latency, good: p50 {good[0]:.1f} ms  p99 {good[1]:.1f} ms")
    for (kind, status), count in sorted(tally.statuses.items(), key=str):
        print(f"  {kind:16} {status!s:>18}  {count:8d}")
    print(f"good answers by model version: {dict(tally.versions)}")
    rss = {minute: np.mean(values) / 2**20 for minute, values in sorted(result["rss"].items())}
    print("service RSS by minute (MiB): " + ", ".join(f"{m + 1}: {v:.0f}" for m, v in rss.items()))
    errors = sum(c for (_, s), c in tally.statuses.items() if not isinstance(s, int) or s >= 500)
    full = [m for m in rss if m >= 1 and m < max(rss)] or list(rss)
    growth = rss[max(full)] / rss[min(full)] - 1 if len(full) > 1 else 0.0
    checks = [
        (errors == 0, f"5xx or failed requests: {errors} (target 0)"),
        (not tally.unexpected, f"unexpected statuses: {len(tally.unexpected)} (target 0)"),
        (rate >= 200, f"rate reached: {rate:.0f} req/s (target >= 200)"),
        (growth < 0.10, f"RSS growth minute {min(full) + 1} -> {max(full) + 1}: {growth:+.1%}"),
        (tally.versions[second] > 0, f"the new champion v{second} served after the swap"),
    ]
    for ok, line in checks:
        print(f"  {'met' if ok else 'NOT met':8} {line}")
    for line in tally.unexpected[:5]:
        print(f"  unexpected: {line}")
    return [ok for ok, _ in checks]


if __name__ == "__main__":
    main()
