from pathlib import Path

import pytest

from btc_platform.settings import SettingsError, load_settings
from btc_platform.store.store_location import StoreLocation


def test_defaults_follow_the_data_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("BTC_DATA_DIR", str(tmp_path / "state"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    settings = load_settings()
    assert settings.offline_store_file == tmp_path / "state" / "offline.duckdb"
    assert settings.mlflow_tracking_uri == f"sqlite:///{tmp_path / 'state' / 'mlflow.db'}"
    assert settings.pairs == ["BTC/USD"]
    assert settings.kafka_bootstrap == "127.0.0.1:9092"
    assert (settings.candle_seconds, settings.horizons) == (60, [5])


def test_horizons_are_comma_separated_and_pair_with_every_pair(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BTC_PAIRS", "BTC/USD,ETH/USD")
    monkeypatch.setenv("BTC_HORIZONS", "15, 5,15")
    settings = load_settings()
    assert (settings.horizons, settings.default_horizon) == ([15, 5], 15)
    assert [str(t) for t in settings.pair_horizons] == [
        "BTC/USD 15m",
        "BTC/USD 5m",
        "ETH/USD 15m",
        "ETH/USD 5m",
    ]
    assert settings.model_name_of(settings.pair_horizons[3]) == "btc-price-ETH-USD-5m"


def test_the_one_horizon_alias_works_alone_and_conflicts_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BTC_HORIZON_MINUTES", "60")
    assert load_settings().horizons == [60]
    monkeypatch.setenv("BTC_HORIZONS", "5,60")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value) == (
        "invalid setting BTC_HORIZONS='5,60': Value error, BTC_HORIZON_MINUTES=60 conflicts "
        "with it: BTC_HORIZON_MINUTES is the one-horizon alias of BTC_HORIZONS; set "
        "BTC_HORIZONS only"
    )


def test_pairs_are_comma_separated_and_normalized(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTC_PAIRS", " btc/usd, ETH/USD ,btc/usd")
    assert load_settings().pairs == ["BTC/USD", "ETH/USD"]


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("BTC_CANDLE_SECONDS", "abc", "BTC_CANDLE_SECONDS='abc'"),
        ("BTC_CANDLE_SECONDS", "0", "greater than 0"),
        ("BTC_PAIRS", "BTCUSD", "'BTCUSD' is not a pair like BTC/USD"),
        ("BTC_KAFKA_BOOTSTRAP", "localhost", "'localhost' is not host:port"),
        ("BTC_KRAKEN_WS_URL", "http://x", "must start with ws:// or wss://"),
        ("BTC_API_PORT", "70000", "BTC_API_PORT='70000'"),
        ("BTC_LOG_LEVEL", "loud", "BTC_LOG_LEVEL='loud'"),
        ("BTC_DRAIN_SENSOR_SECONDS", "0", "greater than or equal to 1"),
        ("BTC_HORIZONS", "5,2000", "2000 is not a horizon of 1 to 1440 minutes"),
        ("BTC_HORIZONS", "5,soon", "BTC_HORIZONS='soon'"),
    ],
)
def test_bad_values_name_the_setting(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, message: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError, match="invalid setting") as error:
        load_settings()
    assert message in str(error.value)
    assert name in str(error.value)


def test_dotenv_file_is_read_and_environment_wins(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text("BTC_HORIZON_MINUTES=15\nBTC_MODEL_NAME=from-file\n")
    monkeypatch.setenv("BTC_MODEL_NAME", "from-env")
    settings = load_settings()
    assert settings.horizons == [15]
    assert settings.model_name == "from-env"


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", "kafka:9092")
    assert load_settings(kafka_bootstrap="127.0.0.1:19092").kafka_bootstrap == "127.0.0.1:19092"


def test_a_store_url_makes_the_store_a_ducklake_and_bad_ones_are_named(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("BTC_DATA_DIR", str(tmp_path))
    assert load_settings().offline_store == StoreLocation(file=tmp_path / "offline.duckdb")
    dsn = "ducklake:postgres:host=db dbname=lake password=s3cret"
    monkeypatch.setenv("BTC_STORE_URL", dsn)
    monkeypatch.setenv("BTC_STORE_DATA_PATH", "s3://bucket/store/")
    lake = load_settings().offline_store
    assert (lake.catalog, lake.lake, lake.data_path) == ("postgres", dsn, "s3://bucket/store/")
    assert "s3cret" not in str(lake) and "password=***" in str(lake)
    monkeypatch.setenv("BTC_STORE_URL", "ducklake:mysql:host=db password=s3cret")
    with pytest.raises(SettingsError) as error:
        load_settings()
    assert str(error.value).startswith("invalid setting BTC_STORE_URL='ducklake:mysql:host=db")
    assert "is not ducklake:sqlite:<catalog file> or ducklake:postgres:<dsn>" in str(error.value)
    assert "s3cret" not in str(error.value)
    monkeypatch.setenv("BTC_STORE_URL", "ducklake:sqlite:/tmp/catalog.sqlite")
    monkeypatch.delenv("BTC_STORE_DATA_PATH")
    with pytest.raises(SettingsError, match=r"BTC_STORE_DATA_PATH=None: .*needs its Parquet"):
        load_settings()
