"""A real PostgreSQL server for the DuckLake Postgres-catalog tests: Debian's binaries, one
cluster per test session in a temporary folder, a fresh database per test.

PostgreSQL refuses to run as root; as root (CI containers) the cluster runs as `nobody`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def postgres_bin() -> Path | None:
    """The folder of initdb/pg_ctl/createdb: on PATH, or Debian's /usr/lib/postgresql/N/bin."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    versions = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    return versions[-1].parent if versions else None


def _as_server_user(command: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *command] if os.geteuid() == 0 else command


@contextmanager
def postgres_server(port: int) -> Iterator[str]:
    """A running cluster on 127.0.0.1:`port` (trust auth); yields its libpq DSN."""
    binaries = postgres_bin()
    assert binaries is not None, "PostgreSQL is not installed (make test-tools installs it)"
    folder = Path(tempfile.mkdtemp(prefix="btc-postgres-"))
    if os.geteuid() == 0:
        shutil.chown(folder, "nobody")
    data = folder / "data"
    run = {"check": True, "capture_output": True, "timeout": 120}
    subprocess.run(
        _as_server_user(
            [str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "-A", "trust"]
        ),
        **run,
    )
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off"
    ctl = [str(binaries / "pg_ctl"), "-D", str(data), "-l", str(folder / "log")]
    subprocess.run(_as_server_user([*ctl, "-o", options, "-w", "-t", "120", "start"]), **run)
    try:
        yield f"host=127.0.0.1 port={port} user=postgres"
    finally:
        subprocess.run(
            _as_server_user([*ctl, "-m", "fast", "-w", "stop"]), check=False, capture_output=True
        )
        shutil.rmtree(folder, ignore_errors=True)


def create_database(dsn: str, name: str) -> str:
    """A new, empty database on the server; the DSN that names it."""
    binaries = postgres_bin()
    assert binaries is not None
    options = dict(item.split("=", 1) for item in dsn.split())
    subprocess.run(
        [
            str(binaries / "createdb"),
            "-h",
            options["host"],
            "-p",
            options["port"],
            "-U",
            options["user"],
            name,
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return f"{dsn} dbname={name}"
