"""Running the real `btc-platform` command in a subprocess with a test environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

COMMAND = [sys.executable, "-m", "btc_platform"]


def cli_env(data_dir: Path, bootstrap: str, **extra: str) -> dict[str, str]:
    """The environment of a command or service the test starts. Each gets its own BentoML
    home: `bentoml serve` empties its home's Prometheus folder when it starts, and would
    wipe the metrics of a service another test worker is running."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BTC_", "MLFLOW_"))}
    env.update(BTC_DATA_DIR=str(data_dir), BTC_KAFKA_BOOTSTRAP=bootstrap, BTC_LOG_FORMAT="json")
    env.update(BENTOML_HOME=str(data_dir / "bentoml"))
    env.update(extra)
    return env


def run_cli(
    args: list[str], env: dict[str, str], timeout: float = 60
) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*COMMAND, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def start_cli(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        [*COMMAND, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
