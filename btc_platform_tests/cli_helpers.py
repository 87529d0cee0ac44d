"""Running the real `btc-platform` command in a subprocess with a test environment."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO

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


class PipeLines:
    """The lines a running process writes to one of its pipes, collected as they come: a
    test can wait for a line (the pipe never fills meanwhile) and read all of them after."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)

    def text(self, timeout: float = 30) -> str:
        """Everything written, once the process has closed the pipe (exited)."""
        self._reader.join(timeout)
        return "".join(self.lines)
