"""The README's flows as a user runs them, one per way a store can be filled, each to a ready
`bentoml serve` whose `/predict` answers 200: imported candles (`import-candles`), a trade
history replayed through Kafka and drained (`ingest --source csv` + `drain`), and an imported
history followed by live trades. (The synthetic source through `up`: test_up.)

Real processes throughout: the CLI, the embedded broker, the DuckDB file, the MLflow store,
`bentoml serve`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pandas as pd
import pytest

from btc_platform.candles import candles_from_trades
from btc_platform.serving.trade_follower import decode
from btc_platform.tracking.mlflow_setup import use_tracking
from btc_platform.tracking.registry import Registry
from btc_platform.trades import Trade
from btc_platform_tests.cli_helpers import cli_env, run_cli
from btc_platform_tests.conftest import free_port, own_embedded_broker
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.serving_helpers import market
from btc_platform_tests.test_service_http import serve

MODEL = "btc-price-BTC-USD-5m"
HOURS = 22  # the features' warm-up (~17 h of 1-minute candles) and a training set after it


def write_ohlcvt(trades: list[Trade], until: datetime, path: Path) -> pd.DataFrame:
    """The trades' final candles before `until` as a Kraken OHLCVT file (7 columns, no
    header)."""
    frame, _ = decode([t.to_json() for t in trades], duckdb.connect())
    candles = candles_from_trades(frame, 60)
    candles = candles[candles["final"] & (candles["window_start"] < until.replace(tzinfo=None))]
    epoch = candles["window_start"].astype("datetime64[s]").astype("int64")
    columns = ["open", "high", "low", "close", "volume", "trade_count"]
    candles[columns].assign(timestamp=epoch)[["timestamp", *columns]].to_csv(
        path, header=False, index=False
    )
    return candles


def write_time_and_sales(trades: list[Trade], path: Path) -> None:
    """Kraken's Time-and-Sales layout: `timestamp,price,volume`, unix seconds."""
    path.write_text(
        "".join(f"{t.ts.timestamp():.6f},{t.price},{t.qty}\n" for t in trades), encoding="ascii"
    )


def cli(args: list[str], env: dict[str, str], timeout: float = 600) -> str:
    result = run_cli(args, env, timeout)
    assert result.returncode == 0, f"{args}: {result.stdout}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.mark.slow
@pytest.mark.timeout(900)  # its own waits (the CLI's commands, the service's readiness) bound it
@pytest.mark.parametrize(
    ("imported_hours", "live_hours"),
    [(HOURS, 0), (0, HOURS), (HOURS - 1, 1)],
    ids=["import-candles", "csv-replay-and-drain", "imported-history-then-live-trades"],
)
def test_a_documented_flow_reaches_a_ready_service_that_predicts(
    imported_hours, live_hours, tmp_path
):
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    seam = end - timedelta(hours=live_hours)
    trades = market(end - timedelta(hours=HOURS), end, seed=11)
    with own_embedded_broker(tmp_path / "broker") as broker:
        env = cli_env(
            tmp_path / "data",
            broker.bootstrap,
            MLFLOW_TRACKING_URI=f"sqlite:///{tmp_path / 'mlflow.db'}",
            # the flow's own minutes (training, start-up) must not make the features stale
            BTC_MAX_FEATURE_AGE_SECONDS="3600",
        )
        if imported_hours:
            history = tmp_path / "XBTUSD_1.csv"
            write_ohlcvt(trades, seam, history)  # the history ends where the live trades begin
            out = cli(["import-candles", str(history), "--pair", "BTC/USD"], env)
            assert "loaded" in out
        if live_hours:
            replay = tmp_path / "XBTUSD.csv"
            write_time_and_sales([t for t in trades if t.ts >= seam], replay)
            cli(["ingest", "--source", "csv", "--file", str(replay), "--pair", "BTC/USD"], env)
            assert "0 invalid" in cli(["drain"], env)
        trained = cli(["train", "--trials", "1", "--cv-folds", "2"], env)
        version = trained.split(f"trained {MODEL} v", 1)[1].split()[0]
        if "promoted to champion" not in trained:
            # the gate's verdict is the model's business; the flow under test is serving it
            use_tracking(env["MLFLOW_TRACKING_URI"])
            Registry(MODEL).promote(version)

        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with serve(env, port, tmp_path / "serve.log") as served:
            wait_until(lambda: http_status(f"{url}/readyz") == 200, 300, "ready")
            answer = httpx.post(f"{url}/predict", json={"pair": "BTC/USD"}, timeout=10)
            card = httpx.get(f"{url}/model", timeout=10).json()
    assert answer.status_code == 200, f"{answer.text}\n{served.output[-3000:]}"
    forecast = answer.json()
    assert forecast["model_version"] == version
    with duckdb.connect(str(tmp_path / "data" / "offline.duckdb"), read_only=True) as store:
        newest, flows = store.execute(
            "SELECT max(window_start), count(buy_volume) FROM candles WHERE final"
        ).fetchone()
    assert end - newest.replace(tzinfo=UTC) <= timedelta(minutes=3)
    assert datetime.fromisoformat(forecast["as_of"]) == newest.replace(tzinfo=UTC) + timedelta(
        minutes=1
    )  # the newest stored candle's close
    assert (flows > 0) == bool(live_hours)  # order flow only where trades were drained
    assert forecast["band_low"] < forecast["current_price"] < forecast["band_high"]
    assert card["background_failures"] == []
    candle_only = "candle-vol" in card["feature_set"]
    assert candle_only == bool(imported_hours)  # imported candles carry no order flow
