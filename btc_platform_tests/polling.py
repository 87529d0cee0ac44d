"""Waiting for something a test started to happen, and asking a server how it is."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable

import httpx
import pytest


def wait_until(
    condition: Callable[[], object],
    timeout: float,
    what: str,
    *,
    interval: float = 0.2,
    ignore: tuple[type[Exception], ...] = (),
    process: subprocess.Popen | None = None,
    explain: Callable[[], str] = lambda: "",
) -> object:
    """The first truthy value of `condition`; fails the test after `timeout` seconds, or as
    soon as `process` (what should make it happen) has exited. `ignore`d errors count as
    not yet; `explain` adds what the failure message should show (state, logs)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = condition()
        except ignore:
            value = None
        if value:
            return value
        if process is not None and process.poll() is not None:
            output = process.stderr.read()[-3000:] if process.stderr else ""
            pytest.fail(f"the process exited while waiting for {what}: {output}")
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}\n{explain()}")


def http_status(url: str) -> int | None:
    """The status of GET `url`, or None while nothing answers."""
    try:
        return httpx.get(url, timeout=5).status_code
    except httpx.HTTPError:
        return None
