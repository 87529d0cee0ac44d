"""Cold start: `btc-platform up --source synthetic` from a fresh data dir to the first
prediction. Prints when the first drain succeeded, the first champion was promoted and the
first `POST /predict` answered 200, each in seconds from the start, next to the stage lines
`up` printed (where the time went).

Target: the first prediction within 180 s.
"""

from __future__ import annotations

import argparse
import signal
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx
import psutil
from machine import context

from btc_platform_tests.cli_helpers import cli_env
from btc_platform_tests.conftest import free_port

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 180
DRAINS = (
    '{ runsOrError(filter: {pipelineName: "drain", statuses: [SUCCESS]}, limit: 1)'
    " { ... on Runs { results { runId } } } }"
)


def drained(ui: str) -> bool:
    try:
        answer = httpx.post(f"http://127.0.0.1:{ui}/graphql", json={"query": DRAINS}, timeout=5)
        return bool(answer.json()["data"]["runsOrError"]["results"])
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return False


def champion(data_dir: Path) -> bool:
    try:
        with sqlite3.connect(data_dir / "mlflow.db") as db:
            return bool(db.execute("SELECT 1 FROM registered_model_aliases").fetchall())
    except sqlite3.Error:
        return False


FIRST_ANSWER: list[str] = []


def predicted(api: str) -> bool:
    try:
        answer = httpx.post(f"http://127.0.0.1:{api}/predict", json={"pair": "BTC/USD"}, timeout=5)
    except httpx.HTTPError:
        return False
    if answer.status_code == 200:
        FIRST_ANSWER.append(answer.text)
    return answer.status_code == 200


ROLES = (  # what a process of the tree is, by a part of its command line
    ("execute_run", "dagster run workers (drain, retrain)"),
    ("dagster._daemon", "dagster daemon (sensors)"),
    ("dagster_webserver", "dagster webserver"),
    ("code-server", "dagster code server"),
    ("api grpc", "dagster code server"),
    ("dagster dev", "dagster dev"),
    ("mlflow", "mlflow ui"),
    ("bentoml", "prediction service"),
    ("_bento", "prediction service"),
    ("btc_platform up", "up: broker, ingest, status"),
    ("tansu", "embedded broker (tansu)"),
)


def role(command: str) -> str:
    return next((name for part, name in ROLES if part in command), command[:40])


class CpuSampler:
    """CPU seconds per role over the process tree, sampled every second: where the time of
    a cold start goes (the run workers come and go, so each is kept at its last sample)."""

    def __init__(self, root: int) -> None:
        self.root, self.last = root, {}

    def sample(self) -> None:
        try:
            tree = [psutil.Process(self.root), *psutil.Process(self.root).children(recursive=True)]
        except psutil.Error:
            return
        for proc in tree:
            try:
                times, command = proc.cpu_times(), " ".join(proc.cmdline())
                if "multiprocessing" in command:  # a worker: its parent says what it is
                    command = " ".join(proc.parent().cmdline())
                self.last[proc.pid] = (role(command), times.user + times.system)
            except psutil.Error:
                continue

    def by_role(self) -> dict[str, float]:
        totals: dict[str, float] = {}
        for name, seconds in self.last.values():
            totals[name] = totals.get(name, 0.0) + seconds
        return dict(sorted(totals.items(), key=lambda item: -item[1]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=float, default=600, help="give up after this (s)")
    args = parser.parse_args()
    print(context())
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        ports = {name: str(free_port()) for name in ("UI", "API", "MLFLOW")}
        env = cli_env(
            data,
            f"127.0.0.1:{free_port()}",
            BTC_LOG_FORMAT="console",
            **{f"BTC_{name}_PORT": port for name, port in ports.items()},
        )
        started = time.monotonic()
        process = subprocess.Popen(
            [sys.executable, "-m", "btc_platform", "up", "--source", "synthetic"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        lines: list[tuple[float, str]] = []

        def read() -> None:
            for line in process.stdout:
                lines.append((time.monotonic() - started, line.rstrip()))

        threading.Thread(target=read, daemon=True).start()
        events = {
            "first successful drain": lambda: drained(ports["UI"]),
            "first champion": lambda: champion(data),
            "first prediction (200)": lambda: predicted(ports["API"]),
        }
        seen: dict[str, float] = {}
        sampler = CpuSampler(process.pid)
        try:
            while len(seen) < len(events) and time.monotonic() - started < args.limit:
                if process.poll() is not None:
                    break
                for name, happened in events.items():
                    if name not in seen and happened():
                        seen[name] = time.monotonic() - started
                sampler.sample()
                time.sleep(1)
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(180)
            except subprocess.TimeoutExpired:
                process.kill()
    print("\nwhat up printed (seconds from the start):")
    for at, line in lines:
        if not line.startswith(" "):
            print(f"  {at:6.1f}  {line[:150]}")
    print()
    for name in events:
        figure = f"{seen[name]:6.1f} s" if name in seen else "   not reached"
        print(f"{name:28} {figure}")
    print("\nCPU seconds until then, per part (2 cores: at most 2 s per second):")
    for name, seconds in sampler.by_role().items():
        if seconds >= 0.05:  # not the helpers that only waited (dagster's log tail)
            print(f"  {name:38} {seconds:6.1f}")
    if FIRST_ANSWER:
        print(f"\nthe first answer: {FIRST_ANSWER[0]}")
    first = seen.get("first prediction (200)")
    verdict = "met" if first is not None and first <= TARGET_SECONDS else "NOT met"
    print(f"target: first prediction <= {TARGET_SECONDS} s: {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    sys.exit(main())
