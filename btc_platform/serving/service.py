"""The BentoML service: `bentoml serve` at the repo root serves it (see bentofile.yaml).

POST /predict and /predict_candles, GET /model, and BentoML's /readyz (ready once at least
one (pair, horizon) has its champion and enough live history). Every configured pair and
horizon is served by its own champion. Bad input answers 400 naming the field, a missing
champion or stale features 503 with the reason; never a 500 for a bad request.
"""

from __future__ import annotations

import bentoml
from fastapi import FastAPI, Security
from fastapi.security import HTTPBearer
from starlette.exceptions import HTTPException
from starlette.responses import HTMLResponse, JSONResponse

from btc_platform.logs import configure_logging, get_logger
from btc_platform.runtime import freeze_long_lived_objects
from btc_platform.serving.api_models import (
    CandleIn,
    ErrorBody,
    Horizon,
    ModelCard,
    Pair,
    Prediction,
)
from btc_platform.serving.api_token import TOKEN_HELP, BearerToken
from btc_platform.serving.client_candles import BadCandles, features_from_candles
from btc_platform.serving.client_error_logs import quiet_client_errors
from btc_platform.serving.dashboard import dashboard_data, dashboard_page
from btc_platform.serving.forecast import model_card, prediction
from btc_platform.serving.runtime import LiveRuntime, NotServed, Unavailable
from btc_platform.serving.service_metrics import ServiceMetrics
from btc_platform.settings import load_settings

log = get_logger(__name__)
info = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
# documents the credential in the OpenAPI spec; the BearerToken middleware enforces it
BEARER = [Security(HTTPBearer(auto_error=False, description=TOKEN_HELP))]


def error(status: int, reason: str) -> JSONResponse:
    """An error answer with its reason; BentoML passes a Response through as it is."""
    return JSONResponse(ErrorBody(error=reason).model_dump(), status_code=status)


@bentoml.service(name="btc_price_predictor", workers=1, traffic={"timeout": 10})
@bentoml.asgi_app(info, path="/")
class PricePredictor:
    """Real-time p10/p50/p90 forecasts of the BTC price a few minutes ahead, for every pair
    of BTC_PAIRS and horizon of BTC_HORIZONS, each by its own champion.

    Authentication: when the server has BTC_API_TOKEN set, /predict, /predict_candles,
    /model, /dashboard and /metrics need the header `Authorization: Bearer <token>` (401
    otherwise); /livez and /readyz stay open for probes.
    """

    def __init__(self) -> None:
        self.settings = load_settings()
        configure_logging(self.settings.log_level, self.settings.log_format)
        quiet_client_errors()
        self.runtime = LiveRuntime(self.settings)
        self.metrics = ServiceMetrics(self.runtime)
        freeze_long_lived_objects()  # the modules; the warm-up and each champion freeze theirs
        self.runtime.start()
        self.metrics.start()

    def failures(self) -> list[str]:
        """What is failing in the background now, and since when."""
        return [task.failure.describe() for task in self.metrics.tasks if task.failure]

    def __is_ready__(self) -> bool:
        """Ready once a (pair, horizon) can answer; /readyz's 503 text says why not."""
        reason = self.runtime.not_ready_reason()
        if reason is not None:
            raise HTTPException(503, f"not ready: {reason}")
        return True

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        self.metrics.stop()
        self.runtime.stop()

    @bentoml.api
    def predict(self, pair: Pair, horizon_minutes: Horizon = None) -> Prediction:
        """The forecast for `pair` over `horizon_minutes` (default: the first of BTC_HORIZONS)
        from the newest closed candle of the live stream, by that pair's and horizon's
        champion."""
        try:
            answer = self.runtime.predict(self.runtime.target(pair, horizon_minutes))
        except NotServed as reason:
            return error(400, str(reason))
        except Unavailable as reason:
            return error(503, str(reason))
        self.metrics.answered(answer, "live")
        return answer

    @bentoml.api
    def predict_candles(
        self, pair: Pair, candles: list[CandleIn], horizon_minutes: Horizon = None
    ) -> Prediction:
        """The forecast from your own recent candles (oldest first), without the live state."""
        try:
            target = self.runtime.target(pair, horizon_minutes)
        except NotServed as reason:
            return error(400, str(reason))
        model = self.runtime.champions.current(target)
        if model is None:
            return error(503, self.runtime.champions[target].problem or "no champion loaded")
        try:
            features = features_from_candles(
                pair, candles, self.settings.candle_seconds, model.feature_set
            )
        except BadCandles as reason:
            return error(400, str(reason))
        forecast = self.runtime.client_forecast(target, model, features)
        answer = prediction(model, forecast, target.horizon_minutes)
        self.runtime.log_answer(answer, model, forecast, "candles")
        self.metrics.answered(answer, "candles")
        return answer

    @info.get("/dashboard", response_class=HTMLResponse, dependencies=BEARER)
    def dashboard(self) -> HTMLResponse:
        """A live page: price, the forecasts and their bands, live skill, the champion."""
        return HTMLResponse(dashboard_page())

    @info.get(
        "/dashboard/data",
        response_model=None,
        responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}},
        dependencies=BEARER,
    )
    def dashboard_numbers(
        self, pair: str = "BTC/USD", horizon_minutes: int | None = None
    ) -> dict[str, object] | JSONResponse:
        """What the dashboard draws for a pair and horizon, as JSON."""
        try:
            target = self.runtime.target(pair.upper(), horizon_minutes)
        except NotServed as reason:
            return error(400, str(reason))
        return dashboard_data(self.runtime, target)

    @info.get(
        "/model",
        response_model=ModelCard,
        responses={400: {"model": ErrorBody}, 401: {"model": ErrorBody}, 503: {"model": ErrorBody}},
        dependencies=BEARER,
    )
    def model(
        self, pair: str | None = None, horizon_minutes: int | None = None
    ) -> ModelCard | JSONResponse:
        """The champion serving a pair and horizon (default: the first of each): version,
        feature set, training window, holdout metrics, its promotion decision, and every
        served pair and horizon still without a champion."""
        runtime = self.runtime
        try:
            target = runtime.target((pair or self.settings.pairs[0]).upper(), horizon_minutes)
        except NotServed as reason:
            return error(400, str(reason))
        served, missing = runtime.champions.current(target), runtime.missing()
        failures = self.failures()
        if served is None:
            others = "; ".join(v for k, v in missing.items() if k != str(target))
            reason = runtime.champions[target].problem or f"{target}: no champion loaded"
            reason += f" (also without a champion: {others})" if others else ""
            return error(503, "; ".join([reason, *failures]))
        problem = runtime.champions[target].problem
        card = model_card(target, served, problem, runtime.calibration(target), missing)
        return card.model_copy(update={"background_failures": failures})


def _token() -> str | None:
    token = load_settings().api_token
    return token.get_secret_value() if token else None


PricePredictor.add_asgi_middleware(BearerToken, token=_token())
