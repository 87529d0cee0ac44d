"""Connections to the offline store, on either backend (see `store_location`).

The file backend is DuckDB's own file: one read-write process or many readers, never both.
A DuckLake is attached to an in-memory DuckDB as `lake` and made the default database, so
every query of the store reads the same with both; its extensions load from their PyPI
wheels (DuckDB's extension repository is never contacted) and readers see a snapshot while
writers commit.
"""

from __future__ import annotations

import importlib.util
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import duckdb

from btc_platform.logs import get_logger
from btc_platform.store.schema import LAKE, ensure_schema
from btc_platform.store.store_location import StoreLocation, as_location
from btc_platform.store.transactions import SQLITE_BUSY, in_transaction

log = get_logger(__name__)
RETRY_SECONDS = 0.5
ATTACH_SECONDS = 60.0
OFFLINE = {"autoinstall_known_extensions": False, "autoload_known_extensions": False}
CATALOG_EXTENSIONS = {"sqlite": "sqlite_scanner", "postgres": "postgres_scanner"}
# A SQLite catalog in WAL mode: readers never wait for a committing writer nor stop it; a
# writer waits up to 5 s for another's commit (what SQLite still refuses at once, a reader
# upgrading to a writer beside one, `in_transaction` runs again).
SQLITE_CATALOG_OPTIONS = ", META_JOURNAL_MODE 'WAL', META_BUSY_TIMEOUT 5000"


@contextmanager
def open_store(
    store: StoreLocation | Path, read_only: bool = False
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to the store (its schema created first unless read-only)."""
    connection = _connect(as_location(store), read_only)
    try:
        if not read_only:  # two processes creating a new lake's tables at once: one retries
            in_transaction(connection, lambda: ensure_schema(connection))
        yield connection
    finally:
        connection.close()


@contextmanager
def read_when_free(
    store: StoreLocation | Path, give_up: Callable[[float], bool]
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection once the store can be read. A lake can always be read (a
    snapshot); DuckDB refuses readers of the file while a drain writes it, so this waits,
    raising the lock error when `give_up(seconds waited)`."""
    location, waited = as_location(store), 0.0
    while True:
        try:
            connection = _connect(location, read_only=True)
            break
        except duckdb.IOException as error:
            if location.is_lake or not _held_by_a_writer(error) or give_up(waited):
                raise  # a corrupt or unreadable file is no lock: waiting would not help
            if waited == 0:
                log.info("offline store busy (a writer holds it); retrying", error=str(error))
            time.sleep(RETRY_SECONDS)
            waited += RETRY_SECONDS
    try:
        yield connection
    finally:
        connection.close()


def _held_by_a_writer(error: duckdb.IOException) -> bool:
    return "Could not set lock on file" in str(error)


def _connect(location: StoreLocation, read_only: bool) -> duckdb.DuckDBPyConnection:
    connection = _lake(location, read_only) if location.is_lake else _file(location, read_only)
    # DuckDB draws a bar on stdout for queries past 2 s: services and workers log, they don't
    connection.execute("SET enable_progress_bar = false")
    return connection


def _file(location: StoreLocation, read_only: bool) -> duckdb.DuckDBPyConnection:
    assert location.file is not None
    if not read_only:
        location.file.parent.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(str(location.file), read_only=read_only)


def _lake(location: StoreLocation, read_only: bool) -> duckdb.DuckDBPyConnection:
    assert location.lake is not None and location.data_path is not None
    connection = duckdb.connect(config=OFFLINE)
    try:
        load_extension(connection, CATALOG_EXTENSIONS[location.catalog])
        load_extension(connection, "ducklake")
        if location.data_path.startswith("s3://"):
            load_extension(connection, "httpfs")
            connection.execute(_s3_secret(os.environ))
        elif not read_only:
            Path(location.data_path).mkdir(parents=True, exist_ok=True)
        if location.sqlite_catalog is not None and not read_only:
            location.sqlite_catalog.parent.mkdir(parents=True, exist_ok=True)
        options = f"DATA_PATH {_quote(location.data_path)}" + (", READ_ONLY" if read_only else "")
        if location.catalog == "sqlite":
            options += SQLITE_CATALOG_OPTIONS
        _attach(connection, f"ATTACH {_quote(location.lake)} AS {LAKE} ({options})")
    except BaseException:
        connection.close()
        raise
    return connection


def _attach(connection: duckdb.DuckDBPyConnection, attach: str) -> None:
    """ATTACH the lake and USE it; a SQLite catalog another process is creating or writing at
    that very moment answers "database is locked" to either: tried again, for up to
    ATTACH_SECONDS."""
    waited = 0.0
    while True:
        try:
            connection.execute(attach)
            connection.execute(f"USE {LAKE}")
            return
        except duckdb.Error as error:
            if SQLITE_BUSY not in str(error) or waited >= ATTACH_SECONDS:
                raise
            connection.execute(f"DETACH DATABASE IF EXISTS {LAKE}")
            time.sleep(RETRY_SECONDS)
            waited += RETRY_SECONDS


def load_extension(connection: duckdb.DuckDBPyConnection, name: str) -> None:
    """LOAD a DuckDB extension from its `duckdb-extension-<name>` wheel."""
    spec = importlib.util.find_spec(f"duckdb_extension_{name}")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"DuckDB extension {name} is not installed (duckdb-extension-{name})")
    folder = Path(spec.origin).parent / "extensions" / f"v{duckdb.__version__}"
    connection.execute(f"LOAD {_quote(str(folder / f'{name}.duckdb_extension'))}")


def _s3_secret(environ: Mapping[str, str]) -> str:
    """CREATE SECRET for the lake's s3:// data from the usual AWS_* variables (an
    AWS_ENDPOINT_URL such as http://minio:9000 selects an S3-compatible server)."""
    options = {
        "TYPE": "s3",
        "KEY_ID": environ.get("AWS_ACCESS_KEY_ID", ""),
        "SECRET": environ.get("AWS_SECRET_ACCESS_KEY", ""),
        "REGION": environ.get("AWS_REGION", "us-east-1"),
    }
    endpoint = environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        options |= {"ENDPOINT": parts.netloc, "URL_STYLE": "path"}
        options["USE_SSL"] = "true" if parts.scheme == "https" else "false"
    body = ", ".join(
        f"{key} {value if key == 'USE_SSL' else _quote(value)}" for key, value in options.items()
    )
    return f"CREATE OR REPLACE SECRET lake_s3 ({body})"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
