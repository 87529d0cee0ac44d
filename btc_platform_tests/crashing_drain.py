"""`btc-platform drain`'s code, killed (SIGKILL) at a chosen point: for exactly-once tests.

`crash_drain` runs it in a process forked from a server with the drain's modules loaded
(no start-up cost); as a command for a test that runs it beside its own threads:
python -m btc_platform_tests.crashing_drain BOOTSTRAP STORE TOPIC STAGE BATCH CALL BATCH_SIZE
STAGE: before-commit | after-commit | mid-batch; BATCH: which write (1-based) dies;
CALL: with mid-batch, which SQL statement of that write dies.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
from pathlib import Path

import btc_platform.drain as drain_module
from btc_platform.store.store_location import StoreLocation

# A generous limit: beside another drain, a reader and training on 2 busy cores, one drain
# may do most of the work in batches of 97, each a lake commit that can conflict and run again.
DRAIN_SECONDS = 300


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


# Each topic's drains form their own consumer group: a test's killed members never delay the
# next test's group.
def doomed_drain(
    bootstrap: str,
    store: StoreLocation | Path,
    topic: str,
    stage: str,
    batch: int,
    call: int,
    batch_size: int,
) -> None:
    real_write = drain_module.write_batch
    writes = 0

    def write_batch(connection, *args, **kwargs):
        nonlocal writes
        writes += 1
        if writes != batch:
            return real_write(connection, *args, **kwargs)
        if stage == "after-commit":
            real_write(connection, *args, **kwargs)
            die()
        return real_write(Doomed(connection, stage, call), *args, **kwargs)

    drain_module.write_batch = write_batch
    drain_module.drain(
        bootstrap, store, topic, 60, batch_size=batch_size, group_id=f"drain-{topic}"
    )


def crash_drain(
    bootstrap: str,
    store: StoreLocation | Path,
    topic: str,
    stage: str,
    batch: int,
    call: int,
    batch_size: int,
) -> int:
    """The exit code of a drain that dies (-9) at the chosen point, or 0 if it finished
    first (the point was past its last write)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])  # a single-threaded server forks each drain
    process = context.Process(
        target=doomed_drain, args=(bootstrap, store, topic, stage, batch, call, batch_size)
    )
    process.start()
    process.join(DRAIN_SECONDS)
    if process.exitcode is None:
        process.kill()
        process.join()
        raise TimeoutError(f"the drain ({stage}, write {batch}) ran past {DRAIN_SECONDS} s")
    return process.exitcode


def main() -> None:
    bootstrap, store, topic, stage, batch, call, batch_size = sys.argv[1:8]
    doomed_drain(bootstrap, Path(store), topic, stage, int(batch), int(call), int(batch_size))


if __name__ == "__main__":
    main()
