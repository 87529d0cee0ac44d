"""Where the offline store lives: one DuckDB file (the embedded default) or a DuckLake.

`BTC_STORE_URL` unset keeps the file (`BTC_DUCKDB_PATH`); `ducklake:sqlite:<catalog file>` or
`ducklake:postgres:<libpq dsn>` is a DuckLake whose Parquet data lives under
`BTC_STORE_DATA_PATH` (a folder or `s3://bucket/prefix`). Several processes may write a lake at
once; the file has one writer process at a time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from btc_platform.redaction import hide_credentials

LAKE_SCHEME = "ducklake:"
CATALOGS = ("sqlite", "postgres")


@dataclass(frozen=True, slots=True)
class StoreLocation:
    file: Path | None = None  # the DuckDB file; None for a lake
    lake: str | None = None  # the DuckLake URL, e.g. ducklake:sqlite:/data/catalog.sqlite
    data_path: str | None = None  # the lake's Parquet files: a folder or s3://bucket/prefix

    @classmethod
    def of(cls, url: str | None, file: Path, data_path: str | None = None) -> StoreLocation:
        """The store `url` names (the `file` when it is empty), validated."""
        if not url:
            return cls(file=file)
        catalog, _, target = url.removeprefix(LAKE_SCHEME).partition(":")
        if not url.startswith(LAKE_SCHEME) or catalog not in CATALOGS or not target:
            raise ValueError(
                f"store URL {hide_credentials(url)!r} is not ducklake:sqlite:<catalog file> or"
                " ducklake:postgres:<dsn> (leave BTC_STORE_URL unset for the DuckDB file)"
            )
        if not data_path:
            raise ValueError(
                "a DuckLake store needs BTC_STORE_DATA_PATH: the folder or s3:// prefix that"
                " holds its Parquet files"
            )
        return cls(lake=url, data_path=data_path)

    @property
    def is_lake(self) -> bool:
        return self.lake is not None

    @property
    def catalog(self) -> str:
        """'sqlite' or 'postgres' for a lake; 'file' for the DuckDB file."""
        return self.lake.removeprefix(LAKE_SCHEME).split(":", 1)[0] if self.lake else "file"

    def exists(self) -> bool:
        """Whether there is a store to read (a Postgres catalog is assumed to be there)."""
        if self.file is not None:
            return self.file.exists()
        return self.sqlite_catalog is None or self.sqlite_catalog.exists()

    @property
    def sqlite_catalog(self) -> Path | None:
        """The catalog file of a lake with a SQLite catalog."""
        return Path(self.lake.split(":", 2)[2]) if self.catalog == "sqlite" else None

    def __str__(self) -> str:
        if self.lake is None:
            return str(self.file)
        return hide_credentials(f"{self.lake} (data {self.data_path})")


def as_location(store: StoreLocation | Path) -> StoreLocation:
    """A path is the DuckDB file."""
    return store if isinstance(store, StoreLocation) else StoreLocation(file=store)
