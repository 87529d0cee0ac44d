"""Typed platform settings from the environment and a `.env` file, validated at start."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from btc_platform.pair_horizon import PairHorizon, pair_horizons
from btc_platform.redaction import hide_credentials
from btc_platform.store.store_location import StoreLocation

PAIR_PATTERN = re.compile(r"^[A-Z0-9]{2,10}/[A-Z0-9]{2,10}$")
ENV_PREFIX = "BTC_"
SECRETS = {"api_token"}  # never echoed, not even in an error about them


class SettingsError(ValueError):
    """A setting has a bad value; the message names the environment variable."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_file=".env", extra="ignore", validate_default=True
    )

    data_dir: Path = Path(".btc-platform")
    kafka_bootstrap: str = "127.0.0.1:9092"
    kafka_partitions: int = Field(default=1, ge=1, le=64)
    duckdb_path: Path | None = None
    store_url: str | None = None  # unset: the DuckDB file; else a DuckLake (store_location)
    store_data_path: str | None = None  # the DuckLake's Parquet folder or s3:// prefix
    pairs: Annotated[list[str], NoDecode] = ["BTC/USD"]
    kraken_ws_url: str = "wss://ws.kraken.com/v2"
    kraken_rest_url: str = "https://api.kraken.com"
    candle_seconds: int = Field(default=60, gt=0, le=86_400)
    drain_sensor_seconds: int = Field(default=15, ge=1, le=3_600)
    candle_freshness_seconds: int = Field(default=600, ge=1)
    horizon_minutes: int | None = Field(default=None, gt=0, le=1_440)  # one-horizon alias
    horizons: Annotated[list[int] | None, NoDecode] = None  # minutes; the first is the default
    model_name: str = Field(default="btc-price", min_length=1)
    training_trials: int = Field(default=20, ge=1, le=1_000)
    promotion_tolerance: float = Field(default=0.005, ge=0, le=0.5)
    retrain_cron: str = "0 3 * * *"
    champion_max_age_hours: float = Field(default=48, gt=0)
    champion_poll_seconds: float = Field(default=10, gt=0)
    max_feature_age_seconds: float = Field(default=300, gt=0)
    live_window: int = Field(default=60, ge=1)
    live_skill_floor: float = Field(default=-0.05, le=1)
    live_coverage_tolerance: float = Field(default=0.15, gt=0, lt=1)
    mlflow_tracking_uri: str | None = Field(
        default=None, validation_alias=AliasChoices("MLFLOW_TRACKING_URI")
    )
    ui_port: int = Field(default=3000, ge=1, le=65_535)
    api_port: int = Field(default=3001, ge=1, le=65_535)
    api_token: SecretStr | None = None  # None: an open API
    mlflow_port: int = Field(default=5000, ge=1, le=65_535)
    ingest_metrics_port: int | None = Field(default=None, ge=1, le=65_535)  # None: no /metrics
    ingest_metrics_host: str = "127.0.0.1"
    log_level: str = "INFO"
    log_format: str = "auto"

    @field_validator("pairs", mode="before")
    @classmethod
    def _split_pairs(cls, value: object) -> object:
        if isinstance(value, str):
            return [p.strip().upper() for p in value.split(",") if p.strip()]
        return value

    @field_validator("pairs")
    @classmethod
    def _check_pairs(cls, pairs: list[str]) -> list[str]:
        if not pairs:
            raise ValueError("at least one pair is required, e.g. BTC/USD")
        for pair in pairs:
            if not PAIR_PATTERN.match(pair):
                raise ValueError(f"{pair!r} is not a pair like BTC/USD")
        return list(dict.fromkeys(pairs))

    @field_validator("horizons", mode="before")
    @classmethod
    def _split_horizons(cls, value: object) -> object:
        if isinstance(value, str):
            return [h.strip() for h in value.split(",") if h.strip()]
        return value

    @field_validator("horizons")
    @classmethod
    def _check_horizons(cls, horizons: list[int] | None, info: ValidationInfo) -> list[int]:
        alias = info.data.get("horizon_minutes")
        if horizons is None:
            return [alias or 5]
        if not horizons:
            raise ValueError("at least one horizon is required, e.g. 5,15,60 (minutes)")
        for minutes in horizons:
            if not 0 < minutes <= 1_440:
                raise ValueError(f"{minutes} is not a horizon of 1 to 1440 minutes")
        if alias is not None and alias != horizons[0]:
            raise ValueError(
                f"BTC_HORIZON_MINUTES={alias} conflicts with it: BTC_HORIZON_MINUTES is the "
                "one-horizon alias of BTC_HORIZONS; set BTC_HORIZONS only"
            )
        return list(dict.fromkeys(horizons))

    @field_validator("kafka_bootstrap")
    @classmethod
    def _check_bootstrap(cls, value: str) -> str:
        for server in value.split(","):
            host, _, port = server.strip().rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"{server!r} is not host:port")
        return value

    @field_validator("kraken_ws_url")
    @classmethod
    def _check_ws_url(cls, value: str) -> str:
        if not value.startswith(("ws://", "wss://")):
            raise ValueError("must start with ws:// or wss://")
        return value

    @field_validator("kraken_rest_url")
    @classmethod
    def _check_rest_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("api_token")
    @classmethod
    def _check_token(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and len(value.get_secret_value()) < 16:
            raise ValueError("must be at least 16 characters (e.g. `openssl rand -hex 32`)")
        return value

    @field_validator("retrain_cron")
    @classmethod
    def _check_cron(cls, value: str) -> str:
        if len(value.split()) != 5:
            raise ValueError("must be a 5-field cron expression such as '0 3 * * *'")
        return value

    @field_validator("log_level")
    @classmethod
    def _check_level(cls, value: str) -> str:
        level = value.upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ValueError("must be one of DEBUG, INFO, WARNING, ERROR")
        return level

    @field_validator("log_format")
    @classmethod
    def _check_format(cls, value: str) -> str:
        if value not in {"auto", "console", "json"}:
            raise ValueError("must be one of auto, console, json")
        return value

    @field_validator("store_url")
    @classmethod
    def _check_store_url(cls, value: str | None) -> str | None:
        StoreLocation.of(value, Path(), "data")  # the URL's form; its data path: below
        return value

    @field_validator("store_data_path")
    @classmethod
    def _check_store_data_path(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("store_url") and not value:
            raise ValueError(
                "a DuckLake store (BTC_STORE_URL) needs its Parquet folder or s3:// prefix"
            )
        return value

    @model_validator(mode="after")
    def _derive_paths(self) -> Settings:
        if self.duckdb_path is None:
            self.duckdb_path = self.data_dir / "offline.duckdb"
        assert self.horizons is not None  # set by _check_horizons
        self.horizon_minutes = self.horizons[0]
        if self.mlflow_tracking_uri is None:
            self.mlflow_tracking_uri = f"sqlite:///{(self.data_dir / 'mlflow.db').resolve()}"
        return self

    @property
    def mlflow_artifacts(self) -> Path:
        """Where runs store artifacts when tracking is local (a sqlite or file URI)."""
        return (self.data_dir / "mlflow-artifacts").resolve()

    @property
    def default_horizon(self) -> int:
        """The first of BTC_HORIZONS: what a request without a horizon gets."""
        assert self.horizons is not None  # set by _check_horizons
        return self.horizons[0]

    @property
    def pair_horizons(self) -> list[PairHorizon]:
        """Every (pair, horizon) that gets its own model, partition and champion."""
        assert self.horizons is not None
        return pair_horizons(self.pairs, self.horizons)

    @property
    def default_pair_horizon(self) -> PairHorizon:
        return PairHorizon(self.pairs[0], self.default_horizon)

    def model_name_of(self, target: PairHorizon) -> str:
        """The registered model of a (pair, horizon) (BTC_MODEL_NAME is the prefix)."""
        return target.model_name(self.model_name)

    @property
    def offline_store_file(self) -> Path:
        """The DuckDB file (the store unless BTC_STORE_URL names a DuckLake)."""
        assert self.duckdb_path is not None  # set by _derive_paths
        return self.duckdb_path

    @property
    def offline_store(self) -> StoreLocation:
        assert self.duckdb_path is not None  # set by _derive_paths
        return StoreLocation.of(self.store_url, self.duckdb_path, self.store_data_path)


def _env_name(field: str) -> str:
    return "MLFLOW_TRACKING_URI" if field == "mlflow_tracking_uri" else ENV_PREFIX + field.upper()


def load_settings(**overrides: object) -> Settings:
    """Read the settings; overrides (from command-line flags) win over the environment."""
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings(**given)
    except ValidationError as error:
        problems = []
        for item in error.errors():
            field = str(item["loc"][0]) if item["loc"] else "settings"
            shown = "<hidden>" if field in SECRETS else hide_credentials(repr(item.get("input")))
            problems.append(f"{_env_name(field)}={shown}: {item['msg']}")
        raise SettingsError("invalid setting " + "; ".join(problems)) from None
