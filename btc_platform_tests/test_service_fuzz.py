"""The service fuzzed from its own OpenAPI (`/docs.json`): schemathesis generates valid and
invalid requests for every documented operation and sends them to a real `bentoml serve`
with a champion and a bearer token. No answer may be a 5xx, and every 4xx names the problem.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import APIOperation, Case, GenerationMode

from btc_platform.broker.topics import Topics
from btc_platform.drain import drain
from btc_platform.serving.runtime import HISTORY
from btc_platform.settings import load_settings
from btc_platform.tracking.mlflow_setup import use_tracking
from btc_platform.tracking.registry import Registry
from btc_platform_tests.conftest import free_port, own_embedded_broker
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.serving_helpers import market, publish_trades
from btc_platform_tests.test_champion_watcher import MODEL
from btc_platform_tests.test_service_http import serve, service_env, train

TOKEN = "fuzz-token-0123456789abcdef"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXAMPLES = 25  # per operation and generation mode: bounded so CI stays within its time


@pytest.fixture(scope="module")
def served_url(tmp_path_factory):
    """A real `bentoml serve` with a champion, ready, behind a bearer token."""
    data = tmp_path_factory.mktemp("fuzz")
    with own_embedded_broker(data / "broker") as broker, pytest.MonkeyPatch.context() as env:
        env.setenv("BTC_DATA_DIR", str(data))
        env.setenv("BTC_KAFKA_BOOTSTRAP", broker.bootstrap)
        env.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{data / 'mlflow.db'}")
        settings_ = load_settings()
        use_tracking(str(settings_.mlflow_tracking_uri))
        end = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(minutes=1)
        trades = market(end - timedelta(minutes=HISTORY + 60), end)
        publish_trades(broker.bootstrap, Topics(), data / "spool.jsonl", trades)
        drain(broker.bootstrap, settings_.offline_store, "trades", 60)
        Registry(MODEL).promote(train(settings_, seed=1))
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        env_ = service_env(settings_, broker.bootstrap, BTC_API_TOKEN=TOKEN)
        with serve(env_, port, data / "serve.log"):
            wait_until(lambda: http_status(f"{url}/readyz") == 200, 180, "the service ready")
            yield url


def problem_named(response: httpx.Response) -> str:
    """The reason a 4xx body gives ('' when it gives none)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    reason = body.get("error") or body.get("detail") if isinstance(body, dict) else None
    return str(reason or "")


def fuzz(operation: APIOperation, mode: GenerationMode) -> Counter[int]:
    """EXAMPLES requests generated for `operation` in `mode`: the status codes they got."""
    statuses: Counter[int] = Counter()

    @given(case=operation.as_strategy(mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
        phases=[Phase.explicit, Phase.generate],  # no shrinking: the first failure is told
    )
    def send(case: Case) -> None:
        response = case.call(headers=AUTH, timeout=30)
        statuses[response.status_code] += 1
        where = f"{case.method} {case.formatted_path} {case.query} {case.body!r:.300}"
        assert response.status_code < 500, f"{where} -> {response.status_code} {response.text}"
        if 400 <= response.status_code < 500:
            assert problem_named(response), f"{where} -> {response.status_code} {response.text}"

    try:
        send()
    except Unsatisfiable:
        if mode is GenerationMode.POSITIVE:
            raise
        # an operation without parameters or a body: no request can be invalid
    return statuses


@pytest.mark.slow
def test_generated_requests_never_get_a_5xx_and_every_4xx_says_why(served_url) -> None:
    spec = httpx.get(f"{served_url}/docs.json", headers=AUTH, timeout=30).json()
    # BentoML labels its spec 3.0.2, but pydantic writes its schemas as JSON Schema 2020-12
    # (numeric exclusiveMinimum, `type: null`): OpenAPI 3.1's dialect. Read them as such.
    assert spec["openapi"].startswith("3.0")
    schema = schemathesis.openapi.from_dict(spec | {"openapi": "3.1.0"})
    schema.config.update(base_url=served_url)
    operations = [result.ok() for result in schema.get_all_operations()]
    paths = {op.path for op in operations}
    assert {"/predict", "/predict_candles", "/model", "/dashboard/data"} <= paths, paths
    seen = {
        (op.method.upper(), op.path, mode.value): fuzz(op, mode)
        for op in operations
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE)
    }
    # the invalid requests were refused as invalid, and valid ones were answered
    assert seen[("POST", "/predict", "negative")][400] > 0, seen
    assert seen[("POST", "/predict", "positive")].keys() & {200, 400}, seen
