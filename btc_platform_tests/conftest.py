"""Shared fixtures: a real embedded Kafka broker per session, fresh topics per test."""

from __future__ import annotations

import socket
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.logs import configure_logging
from btc_platform.settings import Settings, load_settings
from btc_platform.tracking.mlflow_setup import use_tracking

SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"

configure_logging("WARNING", "console")


# Holds the store file argv[1] read-write, as a drain run does, for 4 s: `python -c` it.
HOLD_WRITE_LOCK = (
    "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); "
    "time.sleep(4); c.close()"
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def shared_file(name: str) -> Path:
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"real market data {path} is absent (it ships with CI, not with clones)")
    return path


@contextmanager
def own_embedded_broker(directory: Path) -> Iterator[EmbeddedBroker]:
    """A broker of its own, with the default topic names (for a test that kills or restarts
    it, or runs processes that use the default names)."""
    embedded = EmbeddedBroker(directory, f"127.0.0.1:{free_port()}")
    embedded.start()
    try:
        ensure_topics(embedded.bootstrap, Topics().all())
        yield embedded
    finally:
        embedded.stop()


def crash_broker(embedded: EmbeddedBroker) -> None:
    """SIGKILL the broker, as a crash, and wait until it is gone (its port free again)."""
    process = psutil.Process(embedded.status().pid)
    process.kill()
    process.wait(30)


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedBroker]:
    embedded = EmbeddedBroker(tmp_path_factory.mktemp("broker"), f"127.0.0.1:{free_port()}")
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture
def topics(broker: EmbeddedBroker) -> Topics:
    """Topic names unique to this test, created on the session broker."""
    suffix = uuid.uuid4().hex[:8]
    names = Topics(f"trades-{suffix}", f"trades.dlq-{suffix}", f"predictions-{suffix}")
    ensure_topics(broker.bootstrap, names.all())
    return names


@pytest.fixture
def model_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings on a fresh data dir whose MLflow store this process's clients also use.

    The URI is set through the environment (as MLflow's own `set_tracking_uri` does), so
    it is undone after the test instead of leaking into the next one.
    """
    monkeypatch.setenv("BTC_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    settings = load_settings()
    use_tracking(str(settings.mlflow_tracking_uri))
    return settings
