"""Shared fixtures: a real embedded Kafka broker per session, fresh topics per test."""

from __future__ import annotations

import socket
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest

from btc_platform.broker.embedded import EmbeddedBroker
from btc_platform.broker.topics import Topics, ensure_topics
from btc_platform.logs import configure_logging
from btc_platform.settings import Settings, load_settings
from btc_platform.store.offline_store import Consumed, write_batch
from btc_platform.store.store_connection import open_store
from btc_platform.store.store_location import StoreLocation
from btc_platform.tracking.mlflow_setup import use_tracking
from btc_platform.trades import Trade
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.postgres_server import create_database, postgres_bin, postgres_server
from btc_platform_tests.serving_helpers import market

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
def own_embedded_broker(directory: Path, partitions: int = 1) -> Iterator[EmbeddedBroker]:
    """A broker of its own, with the default topic names (for a test that kills or restarts
    it, or runs processes that use the default names)."""
    embedded = EmbeddedBroker(directory, f"127.0.0.1:{free_port()}")
    embedded.start()
    try:
        ensure_topics(embedded.bootstrap, Topics().all(), partitions)
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


# Holds a write transaction open on the lake (argv: URL, data path) until killed.
HOLD_LAKE_WRITE = (
    "import sys, time; from btc_platform.store.store_connection import open_store; "
    "from btc_platform.store.store_location import StoreLocation; "
    "cm = open_store(StoreLocation(lake=sys.argv[1], data_path=sys.argv[2])); c = cm.__enter__(); "
    "c.execute('BEGIN'); c.execute(\"DELETE FROM trades WHERE pair = 'BTC/USD'\"); "
    "print('writing', flush=True); time.sleep(600)"
)
SEEDED_START = datetime(2026, 3, 1, tzinfo=UTC)


def seed_store(location: StoreLocation) -> list[Trade]:
    """Ten minutes of the seeded market written as one drained batch (partition 0 of `trades`
    read up to offset 42); returns the trades."""
    trades = market(SEEDED_START, SEEDED_START + timedelta(minutes=10))
    consumed = Consumed(since={("trades", 0): 0}, next={("trades", 0): 42})
    with open_store(location) as connection:
        write_batch(connection, [t.to_json() for t in trades], consumed, 60)
    return trades


@pytest.fixture(scope="session")
def postgres() -> Iterator[str]:
    """A real PostgreSQL server for the session (its DSN)."""
    if postgres_bin() is None:
        pytest.skip("PostgreSQL is not installed: `make test-tools` installs it (apt-get)")
    with postgres_server(free_port()) as dsn:
        yield dsn


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """A local S3-compatible server (moto's) for the session: its endpoint URL."""
    server = Path(sys.executable).parent / "moto_server"
    if not server.exists():
        pytest.skip("moto_server is not installed (the dev group's moto[server])")
    port = free_port()
    process = subprocess.Popen(
        [str(server), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: http_status(endpoint), 120, "the S3 server to answer", process=process)
        yield endpoint
    finally:
        process.terminate()
        process.wait(30)


def lake_location(request: pytest.FixtureRequest, tmp_path: Path, catalog: str) -> StoreLocation:
    """A fresh DuckLake: a SQLite catalog file or a new Postgres database, local data; or
    ("s3") a SQLite catalog with its data in a new bucket of the local S3 server."""
    data = str(tmp_path / "lake" / "data")
    if catalog == "postgres":
        dsn = create_database(request.getfixturevalue("postgres"), f"lake_{uuid.uuid4().hex[:8]}")
        return StoreLocation(lake=f"ducklake:postgres:{dsn}", data_path=data)
    if catalog == "s3":
        endpoint = request.getfixturevalue("s3_endpoint")
        bucket = f"lake-{uuid.uuid4().hex[:8]}"
        httpx.put(f"{endpoint}/{bucket}", timeout=30).raise_for_status()  # CreateBucket
        monkeypatch = request.getfixturevalue("monkeypatch")
        for name, value in (
            ("AWS_ENDPOINT_URL", endpoint),
            ("AWS_ACCESS_KEY_ID", "test"),
            ("AWS_SECRET_ACCESS_KEY", "test"),
        ):
            monkeypatch.setenv(name, value)
        data = f"s3://{bucket}/store/"
    return StoreLocation(
        lake=f"ducklake:sqlite:{tmp_path / 'lake' / 'catalog.sqlite'}", data_path=data
    )


@pytest.fixture(params=["file", "sqlite", "postgres", "s3"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> StoreLocation:
    """The offline store on each backend: the DuckDB file; DuckLake on SQLite, on Postgres,
    on SQLite with its data in S3."""
    if request.param == "file":
        return StoreLocation(file=tmp_path / "offline.duckdb")
    return lake_location(request, tmp_path, request.param)


def store_env(location: StoreLocation) -> dict[str, str]:
    """The environment that points the CLI and the services at `location`."""
    if location.file is not None:
        return {"BTC_DUCKDB_PATH": str(location.file)}
    return {"BTC_STORE_URL": str(location.lake), "BTC_STORE_DATA_PATH": str(location.data_path)}


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


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with slow tests first, in their order: `make test` gives each worker a file at
    a time, and the long ones then start at once instead of last."""
    slow_files = {item.path for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: item.path not in slow_files)
