"""The prediction API's credential: with BTC_API_TOKEN set, every prediction, model,
dashboard and metrics endpoint needs `Authorization: Bearer <token>` and answers 401 with
the reason otherwise; the probes (/livez, /readyz) and the OpenAPI page stay open.

The token is compared in constant time (hashes of equal length) and never logged.
"""

from __future__ import annotations

import hashlib
import hmac

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

GUARDED = ("/predict", "/predict_candles", "/model", "/dashboard", "/metrics")
SCHEME = "Bearer"
TOKEN_HELP = (
    "When the server sets BTC_API_TOKEN: send `Authorization: Bearer <token>` to /predict, "
    "/predict_candles, /model, /dashboard and /metrics (401 otherwise); /livez and /readyz "
    "stay open."
)


def _digest(text: str) -> bytes:
    return hashlib.sha256(text.encode()).digest()


def guarded(path: str) -> bool:
    return any(path == prefix or path.startswith(prefix + "/") for prefix in GUARDED)


def refusal(authorization: str | None, expected: bytes) -> str | None:
    """Why a request with this Authorization header is refused, or None when it may pass."""
    if not authorization:
        return f"missing credential: send the header Authorization: {SCHEME} <BTC_API_TOKEN>"
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != SCHEME.lower() or not token.strip():
        return f"malformed Authorization header: expected '{SCHEME} <token>'"
    if not hmac.compare_digest(_digest(token.strip()), expected):
        return "invalid token"
    return None


class BearerToken:
    """ASGI middleware; `token` None leaves the API open."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.expected = _digest(token) if token else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.expected is not None and scope["type"] == "http" and guarded(scope["path"]):
            headers = {
                k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]
            }
            reason = refusal(headers.get("authorization"), self.expected)
            if reason is not None:
                answer = JSONResponse(
                    {"error": reason},
                    status_code=401,
                    headers={"WWW-Authenticate": f'{SCHEME} realm="btc-platform"'},
                )
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)
