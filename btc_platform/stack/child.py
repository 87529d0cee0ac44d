"""One long-running child process of `up`: started in its own session (Ctrl-C in the
terminal reaches only `up`, which stops the children in order), logged to a file, checked
over HTTP, and stopped with its whole process tree."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil


def default_sigint() -> None:
    """In a child before exec: SIGINT back to its default. Under `nohup` or `cmd &` from a
    script it is inherited ignored, and then Ctrl-C (SIGINT) would not stop the child."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Child:
    name: str
    purpose: str
    url: str
    health_path: str
    command: list[str]
    process: subprocess.Popen | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], cwd: Path, log_dir: Path) -> Path:
        log_dir.mkdir(parents=True, exist_ok=True)
        log_file = log_dir / f"{self.name}.log"
        with log_file.open("ab") as log:
            self.process = subprocess.Popen(
                self.command,
                cwd=cwd,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=default_sigint,
            )
        return log_file

    def restart(self, env: dict[str, str], cwd: Path, log_dir: Path) -> None:
        """Start again after an unexpected exit, once what is left of the old process group
        (workers that outlived it and may hold its port) is gone."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self.start(env, cwd, log_dir)

    def exited(self) -> int | None:
        return self.process.poll() if self.process else None

    def healthy(self) -> bool:
        try:
            return httpx.get(self.url + self.health_path, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self, timeout: float = 60) -> None:
        """SIGINT (each of these shuts down cleanly on it), then kill whatever is left."""
        if self.process is None or self.process.poll() is not None:
            return
        try:
            tree = [psutil.Process(self.process.pid)]
            tree += tree[0].children(recursive=True)
        except psutil.NoSuchProcess:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
        _, alive = psutil.wait_procs(tree, timeout=15)
        for process in alive:
            process.kill()
