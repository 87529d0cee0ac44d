"""`btc-platform drain`'s code, killed (SIGKILL) at a chosen point: for exactly-once tests.

python -m btc_platform_tests.crashing_drain BOOTSTRAP STORE TOPIC STAGE BATCH CALL BATCH_SIZE
STAGE: before-commit | after-commit | mid-batch; BATCH: which write (1-based) dies;
CALL: with mid-batch, which SQL statement of that write dies.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import btc_platform.drain as drain_module


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class Doomed:
    """A connection proxy that dies at COMMIT or at its n-th statement."""

    def __init__(self, connection: object, stage: str, call: int) -> None:
        self._connection, self._stage, self._call, self._calls = connection, stage, call, 0

    def execute(self, sql: str, *args: object) -> object:
        self._calls += 1
        if self._stage == "before-commit" and sql == "COMMIT":
            die()
        if self._stage == "mid-batch" and self._calls == self._call:
            die()
        return self._connection.execute(sql, *args)  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        return getattr(self._connection, name)


def main() -> None:
    bootstrap, store, topic, stage, batch, call, batch_size = sys.argv[1:8]
    real_write = drain_module.write_batch
    writes = 0

    def write_batch(connection, *args, **kwargs):
        nonlocal writes
        writes += 1
        if writes != int(batch):
            return real_write(connection, *args, **kwargs)
        if stage == "after-commit":
            real_write(connection, *args, **kwargs)
            die()
        return real_write(Doomed(connection, stage, int(call)), *args, **kwargs)

    drain_module.write_batch = write_batch
    drain_module.drain(bootstrap, Path(store), topic, 60, batch_size=int(batch_size), idle_ms=500)


if __name__ == "__main__":
    main()
