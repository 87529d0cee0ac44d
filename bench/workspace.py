"""A benchmark's own platform state: a temporary data dir, an embedded broker of its own, a
local MLflow store, and the environment that points this process and its children at them."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.settings import Settings, load_settings
from btc_platform_tests.cli_helpers import cli_env
from btc_platform_tests.conftest import own_embedded_broker


@dataclass(frozen=True)
class Workspace:
    data: Path
    broker: EmbeddedBroker
    env: dict[str, str]  # for the processes the bench starts; this process has it too
    settings: Settings


@contextmanager
def bench_workspace(**extra: str) -> Iterator[Workspace]:
    """The workspace until the block ends; `extra` settings on top (e.g. BTC_*=...)."""
    with (
        tempfile.TemporaryDirectory() as workdir,
        own_embedded_broker(Path(workdir) / "broker") as broker,
    ):
        data = Path(workdir)
        env = cli_env(
            data,
            broker.bootstrap,
            MLFLOW_TRACKING_URI=f"sqlite:///{data / 'mlflow.db'}",
            BTC_LOG_LEVEL="WARNING",
            **extra,
        )
        os.environ.update(env)
        yield Workspace(data, broker, env, load_settings())
