"""BTC_API_TOKEN on a real `bentoml serve`: every prediction, model, dashboard and metrics
endpoint needs the bearer token (401 with the reason otherwise), the probes and the OpenAPI
page stay open, and the token never shows in the service's logs."""

from __future__ import annotations

import httpx
import pytest

from btc_platform.settings import SettingsError, load_settings
from btc_platform_tests.conftest import free_port
from btc_platform_tests.polling import http_status, wait_until
from btc_platform_tests.test_service_http import serve, service_env

TOKEN = "s3cret-token-for-the-test-0123456789"
GUARDED = [
    ("POST", "/predict", {"pair": "BTC/USD"}),
    ("POST", "/predict_candles", {"pair": "BTC/USD", "candles": []}),
    ("GET", "/model", None),
    ("GET", "/dashboard", None),
    ("GET", "/dashboard/data", None),
    ("GET", "/metrics", None),
]


def call(url: str, method: str, path: str, body: dict | None, **headers: str) -> httpx.Response:
    return httpx.request(method, url + path, json=body, headers=headers, timeout=10)


def test_the_token_guards_the_api_and_never_shows(broker, model_settings, tmp_path) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = service_env(model_settings, broker.bootstrap, BTC_API_TOKEN=TOKEN, BTC_LOG_LEVEL="DEBUG")
    with serve(env, port, tmp_path / "serve.log") as served:
        wait_until(lambda: http_status(f"{url}/livez") == 200, 120, "bentoml serve to answer")
        assert http_status(f"{url}/readyz") == 503  # open to probes: not ready, no champion
        assert httpx.get(f"{url}/docs.json", timeout=10).status_code == 200
        for method, path, body in GUARDED:
            missing = call(url, method, path, body)
            assert missing.status_code == 401, path
            assert missing.json() == {
                "error": "missing credential: send the header Authorization: Bearer <BTC_API_TOKEN>"
            }
            assert missing.headers["www-authenticate"] == 'Bearer realm="btc-platform"'
            wrong = call(url, method, path, body, authorization="Bearer not-the-token")
            assert (wrong.status_code, wrong.json()) == (401, {"error": "invalid token"}), path
            right = call(url, method, path, body, authorization=f"Bearer {TOKEN}")
            assert right.status_code != 401, path
        basic = call(url, "GET", "/model", None, authorization=f"Basic {TOKEN}")
        assert basic.json() == {
            "error": "malformed Authorization header: expected 'Bearer <token>'"
        }
        lower = call(url, "GET", "/model", None, authorization=f"bearer {TOKEN}")
        assert lower.status_code != 401  # the scheme's case does not matter
        # past the token, the service answers as without one
        past = call(url, "POST", "/predict", {"pair": "BTC/USD"}, authorization=f"Bearer {TOKEN}")
        assert past.status_code == 503
        spec = httpx.get(f"{url}/docs.json", timeout=10).json()
        [scheme] = spec["components"]["securitySchemes"].values()
        assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
        assert "BTC_API_TOKEN" in scheme["description"]
    assert TOKEN not in served.output, "the token was logged"
    assert "/predict" in served.output  # the access log was there to look in


def test_a_token_too_short_to_be_safe_is_refused_at_start(monkeypatch) -> None:
    monkeypatch.setenv("BTC_API_TOKEN", "short")
    with pytest.raises(
        SettingsError, match="BTC_API_TOKEN=<hidden>: Value error, must be at least 16 characters"
    ) as refused:
        load_settings()
    assert "short" not in str(refused.value)
    monkeypatch.setenv("BTC_API_TOKEN", TOKEN)
    settings = load_settings()
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())
