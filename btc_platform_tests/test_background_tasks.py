"""The service's background threads never die silently: a failure is held (what, since when),
logged once per change, counted, and the work restarted with backoff until it recovers."""

from __future__ import annotations

import logging
import threading

import httpx
import prometheus_client as prom
import pytest
import structlog
from structlog.testing import capture_logs

from btc_platform.serving.background import BackgroundTask
from btc_platform.serving.runtime import LiveRuntime
from btc_platform.serving.service_metrics import ServiceMetrics
from btc_platform.settings import load_settings
from btc_platform_tests.conftest import free_port
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.test_champion_watcher import MODEL
from btc_platform_tests.test_service_http import serve, service_env


@pytest.fixture
def logs():
    """The events logged at INFO and above while the test runs (the suite logs WARNING)."""
    configured = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.INFO))
    try:
        with capture_logs() as captured:
            yield captured
    finally:
        structlog.configure(**configured)


def failing(errors: list[Exception]) -> tuple[list[int], object]:
    """Work that raises each of `errors` in turn, then succeeds; and its call counter."""
    calls = [0]

    def work() -> None:
        calls[0] += 1
        if calls[0] <= len(errors):
            raise errors[calls[0] - 1]

    return calls, work


def test_a_periodic_task_holds_its_failure_logs_each_change_once_and_recovers(logs):
    errors = [ValueError("boom"), ValueError("boom"), ValueError("boom"), OSError("disk gone")]
    calls, work = failing(errors)
    task = BackgroundTask("probe", work, every=0.01, first_backoff=0.1)
    task.start()
    held = wait_until(
        lambda: task.failure if calls[0] == 3 else None, 10, "three failures", interval=0.01
    )
    seen = [held.describe()]
    wait_until(lambda: calls[0] > len(errors) + 1, 10, "good rounds after the failures")
    task.stop(timeout=5)
    assert seen[0].startswith("background task probe failing since ")
    assert "restarting with backoff): ValueError: boom" in seen[0]
    assert task.failure is None
    assert task.failures_total == 4
    failed = [e for e in logs if e["event"] == "background task failed; restarting"]
    # one line per change of error (three 'boom's, then the disk), not one per failure
    assert [str(e["exc_info"]) for e in failed] == ["boom", "disk gone"]
    recovered = [e for e in logs if e["event"] == "background task recovered"]
    assert [e["failures"] for e in recovered] == [4]


def test_a_failure_keeps_its_first_moment_and_counts():
    calls, work = failing([RuntimeError("a")] * 3)
    task = BackgroundTask("probe", work, every=60, first_backoff=0.001)
    task.start()
    wait_until(lambda: calls[0] >= 4, 10, "the good round")
    # the good round clears it; the failures were counted
    assert task.failure is None and task.failures_total == 3
    task.stop()


def test_the_live_state_restarts_after_a_failed_warm_up_and_says_so(
    model_settings, broker, monkeypatch, logs
):
    """A store that cannot be read fails the warm-up: readiness says what failed and since
    when; once the store is readable the live state warms up again by itself."""
    monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
    settings = load_settings()
    store = settings.offline_store.file
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes(b"not a DuckDB file" * 100)
    runtime = LiveRuntime(settings)
    runtime.live.first_backoff = 0.05
    registry = prom.CollectorRegistry()
    metrics = ServiceMetrics(runtime, registry, every=0.05)
    runtime.start()
    metrics.start()
    try:
        wait_until(lambda: runtime.live.failure is not None, 30, "the failed warm-up")
        wait_until(lambda: runtime.live.failure.count >= 3, 30, "two restarts")
        reason = runtime.not_ready_reason()
        assert reason.startswith("background task live-features failing since ")
        assert "IOException" in reason and "offline.duckdb" in reason
        wait_until(
            lambda: (
                registry.get_sample_value("btc_background_failing", {"task": "live-features"}) == 1
            ),
            10,
            "the failing gauge",
        )
        store.unlink()  # no store: the live state follows Kafka from its beginning
        wait_until(lambda: runtime.warmed_up, 30, "the warm-up after the store was fixed")
        assert runtime.live.failure is None
        failures = registry.get_sample_value(
            "btc_background_failures_total", {"task": "live-features"}
        )
        wait_until(
            lambda: (
                registry.get_sample_value("btc_background_failing", {"task": "live-features"}) == 0
            ),
            10,
            "the gauge back at 0",
        )
    finally:
        metrics.stop()
        runtime.stop()
    assert failures >= 3
    failed = [
        str(e["exc_info"]) for e in logs if e["event"] == "background task failed; restarting"
    ]
    # the same error each time: logged once (a second, other error may be logged once too,
    # if the file went away between the warm-up's look for it and its read)
    assert "not a valid DuckDB database file" in failed[0]
    assert len(failed) == len(set(failed)) <= 2
    assert [e["event"] for e in logs].count("background task recovered") == 1


def test_the_champion_and_metrics_threads_survive_their_failures(
    model_settings, broker, monkeypatch
):
    monkeypatch.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
    runtime = LiveRuntime(load_settings())
    registry = prom.CollectorRegistry()
    metrics = ServiceMetrics(runtime, registry, every=0.05)
    broken = threading.Event()
    broken.set()
    real_refresh, real_live_view = runtime.champions.refresh, metrics.refresh

    def champions_refresh() -> None:
        if broken.is_set():
            raise ConnectionError("registry socket closed")
        real_refresh()

    def metrics_refresh() -> None:
        if broken.is_set():
            metrics._count_failures()  # what it counted before the failure is still exported
            raise KeyError("gauge")
        real_live_view()

    runtime.champions.task.work = champions_refresh
    runtime.champions.task.every = 0.05
    runtime.champions.task.first_backoff = 0.05
    metrics.task.work = metrics_refresh
    metrics.task.first_backoff = 0.05
    runtime.start()
    metrics.start()
    try:
        wait_until(
            lambda: runtime.champions.task.failure and metrics.task.failure, 30, "both failing"
        )
        held = {t.name: t.failure.describe() for t in metrics.tasks if t.failure}
        assert set(held) == {"champion-watcher", "service-metrics"}
        assert held["champion-watcher"].endswith("ConnectionError: registry socket closed")
        assert held["service-metrics"].endswith("KeyError: 'gauge'")
        broken.clear()
        wait_until(
            lambda: not runtime.champions.task.failure and not metrics.task.failure,
            30,
            "both recovered",
        )
        wait_until(
            lambda: registry.get_sample_value(
                "btc_background_failures_total", {"task": "champion-watcher"}
            ),
            10,
            "the failures counted",
        )
        assert runtime.champions[next(iter(runtime.champions.watchers))].problem is not None
    finally:
        metrics.stop()
        runtime.stop()


@pytest.mark.slow
def test_bentoml_serve_reports_a_failing_live_state_on_readyz_and_model_then_recovers(
    model_settings, broker, tmp_path
):
    store = model_settings.offline_store.file
    store.parent.mkdir(parents=True, exist_ok=True)
    store.write_bytes(b"not a DuckDB file" * 100)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = service_env(model_settings, broker.bootstrap)
    with serve(env, port, tmp_path / "serve.log", failures_logged=True) as served:
        wait_until(lambda: http_status(f"{url}/livez") == 200, 120, "bentoml serve to answer")
        failing = "background task live-features failing since "
        readiness = wait_until(
            lambda: (
                (r := httpx.get(f"{url}/readyz", timeout=10)).status_code == 503
                and failing in r.text
                and r
            ),
            60,
            "the failure on /readyz",
        )
        assert readiness.text.startswith(f"not ready: {failing}")
        assert "IOException" in readiness.text
        card = httpx.get(f"{url}/model", timeout=10)
        assert card.status_code == 503 and failing in card.json()["error"]
        store.unlink()  # readable again (no store: Kafka from its beginning)
        no_champion = f"not ready: {MODEL} has no champion yet"
        wait_until(
            lambda: httpx.get(f"{url}/readyz", timeout=10).text == no_champion, 60, "recovery"
        )
        assert failing not in httpx.get(f"{url}/model", timeout=10).json()["error"]
    # one log line for the failure, however often it was retried, and one for the recovery
    assert served.output.count("background task failed; restarting") == 1, served.output[-3000:]
    assert served.output.count("background task recovered") == 1
