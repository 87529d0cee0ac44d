"""A real `bentoml serve` at the repo root against a real broker, DuckDB and MLflow store."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import bentoml
import httpx
import orjson
import pytest

from btc_platform.broker.topics import Topics
from btc_platform.drain import drain
from btc_platform.features.compute import FEATURES
from btc_platform.retrain import train_candidate
from btc_platform.serving.runtime import HISTORY, REPLAYED
from btc_platform.settings import load_settings
from btc_platform.store.feature_store import refresh_features
from btc_platform.store.store_connection import open_store
from btc_platform.store.training_snapshot import load_training_set
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.tracking.registry import Registry
from btc_platform.training.config import TrainingConfig
from btc_platform.training.search_space import SearchSpace
from btc_platform_tests.cli_helpers import cli_env
from btc_platform_tests.conftest import free_port, own_embedded_broker
from btc_platform_tests.kafka_helpers import read_topic
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.prometheus_helpers import scrape, value
from btc_platform_tests.serving_helpers import market, publish_trades
from btc_platform_tests.test_champion_watcher import MODEL

ROOT = Path(__file__).resolve().parents[1]
QUANTILES = ("p10", "p50", "p90")
QUICK = TrainingConfig(trials=1, cv_folds=2, space=SearchSpace(n_estimators=(30, 30)))


@pytest.fixture(scope="module")
def own_broker(tmp_path_factory):
    with own_embedded_broker(tmp_path_factory.mktemp("serve-broker")) as embedded:
        yield embedded


def service_env(settings, bootstrap: str, **extra: str) -> dict[str, str]:
    """The environment of a `bentoml serve` on the test's data dir and MLflow store."""
    return cli_env(
        settings.data_dir,
        bootstrap,
        MLFLOW_TRACKING_URI=str(settings.mlflow_tracking_uri),
        **extra,
    )


class Served:
    """A `bentoml serve` whose output goes to a file (a pipe read only at the end fills up
    with the access log, and then stalls the server)."""

    def __init__(self, log: Path) -> None:
        self.log = log

    @property
    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def serve(
    env: dict[str, str], port: int, log: Path, failures_logged: bool = False
) -> Iterator[Served]:
    """The service on 127.0.0.1:`port` until the block ends, then Ctrl-C; it must never
    have answered a 500, nor logged a traceback unless the test makes it fail
    (`failures_logged`)."""
    served = Served(log)
    with log.open("w") as out:
        server = subprocess.Popen(
            [sys.executable, "-m", "bentoml", "serve", "--host", "127.0.0.1", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        try:
            yield served
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    assert "status=500" not in served.output, served.output[-3000:]
    # the client's errors are in the access log (400), not as the service's own errors
    assert failures_logged or "Traceback" not in served.output, served.output[-3000:]


def train(settings, seed: int) -> str:
    with open_store(settings.offline_store) as connection:
        refresh_features(connection, "BTC/USD", 60)
        dataset = load_training_set(connection, "BTC/USD", 60, 5)
    config = TrainingConfig(trials=1, cv_folds=2, seed=seed, space=QUICK.space)
    return train_candidate(ModelStore.of(settings), dataset, config).version


def replayed(url: str, **target: object) -> bool:
    """Whether the served champion's live calibration has been replayed (its model card
    shows it): until then its answers carry the raw, uncalibrated band."""
    card = httpx.get(f"{url}/model", params=target, timeout=10)
    return card.status_code == 200 and card.json()["live_calibration"] is not None


def check_dashboard_in_chromium(url: str, version: str, close: float, forecasts: int) -> None:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        warnings.warn(
            "chromium is not installed: the dashboard page was not rendered", stacklevel=2
        )
        return
    rendered = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--virtual-time-budget=15000",
            "--dump-dom",
            f"{url}/dashboard",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    page = rendered.stdout
    assert 'data-rendered="yes"' in page, rendered.stderr[-2000:]
    chart = re.search(r'<svg id="chart".*?</svg>', page, re.S).group(0)  # drawn by the script
    assert chart.count('<polyline class="price" points="') == 1
    assert chart.count('<polygon class="band" points="') == 1
    assert chart.count('<circle class="forecast"') == forecasts
    assert f'<b id="version">{MODEL} v{version}</b>' in page
    assert f'<b id="price">{close:,.0f}</b>' in page


@pytest.mark.slow
def test_bentoml_serve_predicts_refuses_bad_input_and_follows_the_champion(
    own_broker, model_settings, monkeypatch, tmp_path
):
    monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", own_broker.bootstrap)
    settings = load_settings()
    end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
    trades = market(end - timedelta(hours=(HISTORY + 60) / 60), end)
    publish_trades(own_broker.bootstrap, Topics(), tmp_path / "spool.jsonl", trades)
    drain(own_broker.bootstrap, settings.offline_store, "trades", 60)

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = service_env(settings, own_broker.bootstrap, BTC_CHAMPION_POLL_SECONDS="1")
    with serve(env, port, tmp_path / "serve.log"):
        wait_until(lambda: http_status(f"{url}/livez") == 200, 120, "bentoml serve to answer")
        # No champion yet: not ready, and /predict says why.
        assert http_status(f"{url}/readyz") == 503
        no_champion = {"error": f"{MODEL} has no champion yet"}

        def refusal() -> tuple[int, dict] | None:
            answer = httpx.post(f"{url}/predict", json={"pair": "BTC/USD"}, timeout=10)
            return (answer.status_code, answer.json()) if answer.json() == no_champion else None

        assert wait_until(refusal, 30, "the warm-up") == (503, no_champion)
        assert httpx.get(f"{url}/model", timeout=10).status_code == 503
        readiness = httpx.get(f"{url}/readyz", timeout=10)  # the probe's text says why
        assert (readiness.status_code, readiness.text) == (
            503,
            f"not ready: {MODEL} has no champion yet",
        )

        first = train(settings, seed=1)
        Registry(MODEL).promote(first)
        wait_until(lambda: http_status(f"{url}/readyz") == 200, 60, "ready with a champion")
        wait_until(lambda: replayed(url), 120, "the champion's live calibration replayed")

        with bentoml.SyncHTTPClient(url) as client:
            answer = client.predict(pair="BTC/USD")
            with open_store(settings.offline_store) as connection:
                last_start, last_close = connection.execute(
                    "SELECT window_start, close FROM candles WHERE final"
                    " ORDER BY window_start DESC LIMIT 1"
                ).fetchall()[0]
            assert answer["pair"] == "BTC/USD"
            assert (answer["model_name"], answer["model_version"]) == (MODEL, first)
            assert answer["horizon_minutes"] == 5
            assert datetime.fromisoformat(answer["as_of"]) == (
                last_start + timedelta(minutes=1)
            ).replace(tzinfo=UTC)
            assert answer["current_price"] == pytest.approx(last_close)
            assert answer["band_low"] <= answer["predicted_price"] <= answer["band_high"]
            assert answer["model_skill"]["verdict"]
            assert 0 < answer["feature_age_seconds"] < 300

            with open_store(settings.offline_store) as connection:
                recent = (
                    connection.execute(
                        "SELECT strftime(window_start, '%Y-%m-%dT%H:%M:%SZ') AS window_start,"
                        " open, high, low, close, volume, trade_count, buy_volume, buy_count"
                        " FROM candles WHERE final ORDER BY window_start DESC LIMIT ?",
                        [FEATURES.warmup_candles + 50],
                    )
                    .df()
                    .iloc[::-1]
                )
            own = client.predict_candles(pair="BTC/USD", candles=recent.to_dict("records"))
            assert own["as_of"] == answer["as_of"]
            assert own["predicted_return"] == pytest.approx(answer["predicted_return"], rel=1e-6)
            # the same band: the live calibration's scale applies to the client's candles too
            assert own["band_scale"] == answer["band_scale"]
            assert own["band_low"] == pytest.approx(answer["band_low"], rel=1e-9)

            card = httpx.get(f"{url}/model", timeout=10).json()
            # candles built from trades carry order flow: the model uses it
            assert (card["version"], card["feature_set"]) == (first, "trade-flow/v2")
            skills = (
                "pinball_loss_skill",
                "pinball_skill_ewma_blend",
                "pinball_skill_ewma_blend_low",
                "pinball_skill_vol_scaled",
                "pinball_skill_static",
            )
            assert set(skills) <= set(card["holdout_metrics"])
            assert (card["pair"], card["horizon_minutes"], card["name"]) == ("BTC/USD", 5, MODEL)
            assert card["missing"] == {}
            calibration = card["live_calibration"]
            assert calibration["band_scale"] == answer["band_scale"]
            # replayed over the live history, which the champion trained on: those outcomes
            # are in-sample and teach the calibration nothing (only the few closes since do)
            assert calibration["outcomes"] < 10
            assert card["median_guard"].startswith("p50 ")

        # The dashboard: its numbers, then the page rendered by a headless Chromium.
        board = httpx.get(f"{url}/dashboard/data", timeout=30).json()
        with open_store(settings.offline_store) as connection:
            final = connection.execute("SELECT count(*) FROM candles WHERE final").fetchall()[0][0]
        # one per close past warm-up, the most recent REPLAYED of them
        forecasts = min(min(final, HISTORY) - FEATURES.warmup_candles, REPLAYED)
        assert board["model_version"] == first
        assert len(board["candles"]) == 120 and len(board["forecasts"]) == forecasts
        assert board["candles"][-1]["close"] == pytest.approx(last_close)
        assert board["live"]["outcomes"] == forecasts - 5  # those whose horizon has passed
        assert 0 <= board["live"]["band_coverage"] <= 1
        assert board["calibration"]["band_scale"] == pytest.approx(answer["band_scale"])
        check_dashboard_in_chromium(url, first, last_close, forecasts)

        # Bad input: 400 naming the field, never a 500.
        for body, reason in [
            ({"pair": "ETH/USD"}, "pair: ETH/USD is not served (BTC_PAIRS: BTC/USD)"),
            (
                {"pair": "BTC/USD", "horizon_minutes": 15},
                "horizon_minutes: 15 is not served (BTC_HORIZONS: 5)",
            ),
            ({"pair": "BTC/USD", "horizon_minutes": 0}, "'loc': ['horizon_minutes']"),
            ({"pair": "btcusd"}, "'loc': ['pair']"),
            ({}, "'loc': ['pair']"),
        ]:
            bad = httpx.post(f"{url}/predict", json=body, timeout=10)
            assert bad.status_code == 400 and reason in str(bad.json()), bad.text
        garbled = httpx.post(
            f"{url}/predict", content=b"{not json", headers={"content-type": "application/json"}
        )
        assert garbled.status_code == 400
        few = httpx.post(
            f"{url}/predict_candles",
            json={"pair": "BTC/USD", "candles": recent.head(10).to_dict("records")},
            timeout=10,
        )
        assert few.status_code == 400
        assert few.json()["error"].startswith(
            f"candles: need at least {FEATURES.warmup_candles + 1} consecutive candles"
        )
        no_flow = httpx.post(
            f"{url}/predict_candles",
            json={
                "pair": "BTC/USD",
                "candles": recent.drop(columns=["buy_volume"]).to_dict("records"),
            },
            timeout=10,
        )
        assert no_flow.status_code == 400
        assert no_flow.json()["error"].startswith(
            "candles[0].buy_volume: the champion uses order flow (feature set trade-flow/v2)"
        )
        broken = recent.to_dict("records")
        broken[3]["low"] = broken[3]["high"] * 2
        bad_candle = httpx.post(
            f"{url}/predict_candles", json={"pair": "BTC/USD", "candles": broken}, timeout=10
        )
        assert bad_candle.status_code == 400 and "'loc': ['candles', 3]" in str(bad_candle.json())

        # A new champion is picked up live: no restart, no failed request meanwhile.
        second = train(settings, seed=2)
        answers: list[tuple[int, str]] = []
        stop = threading.Event()

        def request_loop() -> None:
            while not stop.is_set():
                response = httpx.post(f"{url}/predict", json={"pair": "BTC/USD"}, timeout=10)
                answers.append((response.status_code, response.json().get("model_version")))

        loop = threading.Thread(target=request_loop)
        loop.start()
        try:
            wait_until(lambda: len(answers) > 5, 30, "requests before the promotion")
            Registry(MODEL).promote(second)
            wait_until(lambda: answers and answers[-1][1] == second, 30, "the new champion")
            wait_until(lambda: len(answers) > 5 and answers[-5][1] == second, 30, "more answers")
        finally:
            stop.set()
            loop.join()
        assert {code for code, _ in answers} == {200}
        versions = [version for _, version in answers]
        switch = versions.index(second)
        assert set(versions[:switch]) == {first} and set(versions[switch:]) == {second}

        # Its metrics: answers by model version, the champion, feature age, lag, live skill.
        metrics_url = f"{url}/metrics"
        target = {"pair": "BTC/USD", "horizon_minutes": "5"}
        wait_until(
            lambda: value(scrape(metrics_url), "btc_champion_version", **target) == int(second),
            30,
            "the champion's version in the metrics",
        )
        # the new champion's live calibration is replayed after it is first served
        wait_until(
            lambda: value(scrape(metrics_url), "btc_live_outcomes", **target) > 0,
            120,
            "the new champion's replayed outcomes in the metrics",
        )
        samples = scrape(metrics_url)
        served_second = sum(1 for _, version in answers if version == second)
        live = {**target, "origin": "live"}
        assert value(samples, "btc_predictions_total", **live, model_version=second) == (
            served_second
        )
        assert value(samples, "btc_predictions_total", **target, origin="candles") == 1
        assert value(samples, "btc_champion_problem", **target) == 0
        assert 0 < value(samples, "btc_feature_age_seconds", pair="BTC/USD") < 300
        assert value(samples, "btc_follower_lag_messages") == 0
        assert value(samples, "btc_follower_lag_seconds") == 0
        assert value(samples, "btc_live_outcomes", **target) > 100
        assert 0 <= value(samples, "btc_live_band_coverage", **target) <= 1
        assert 0.5 <= value(samples, "btc_band_scale", **target) <= 2  # the calibration's bounds
        assert value(samples, "btc_price", pair="BTC/USD") == pytest.approx(last_close)
        band = [value(samples, "btc_forecast_price", **target, quantile=q) for q in QUANTILES]
        newest = httpx.post(f"{url}/predict", json={"pair": "BTC/USD"}, timeout=10).json()
        assert band == pytest.approx(
            [newest["band_low"], newest["predicted_price"], newest["band_high"]], rel=1e-9
        )

        # Every answered prediction went to the `predictions` topic.
        logged = [orjson.loads(r.value) for r in read_topic(own_broker.bootstrap, "predictions")]
        assert len(logged) >= 2 + len(answers)
        assert {
            "id",
            "pair",
            "as_of",
            "horizon_minutes",
            "model_name",
            "model_version",
            "predicted_return",
            "band_low",
            "band_high",
            "band_scale",
            "realized_vol",
            "vol_baseline_low",
            "vol_baseline_high",
            "origin",
        } <= set(logged[0])
        assert {record["origin"] for record in logged} == {"live", "candles"}
        assert len({record["id"] for record in logged}) == len(logged)
