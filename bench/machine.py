"""The machine a benchmark ran on, printed beside its figures (timings depend on it)."""

from __future__ import annotations

import os
import platform


def context() -> str:
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return (
        f"machine: {os.cpu_count()} cores, load average {load} (1/5/15 min), "
        f"Python {platform.python_version()}, {platform.machine()}"
    )


def verdict(met: bool) -> str:
    """How a figure stands against its target."""
    return "met" if met else "NOT met"
