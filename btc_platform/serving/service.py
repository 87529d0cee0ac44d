"""The BentoML service: `bentoml serve` at the repo root serves it (see bentofile.yaml).

POST /predict and /predict_candles, GET /model, and BentoML's /readyz (ready once a
champion and enough live history are loaded). Bad input answers 400 naming the field, a
missing champion or stale features 503 with the reason; never a 500 for a bad request.
"""

from __future__ import annotations

import bentoml
from fastapi import FastAPI, Security
from fastapi.security import HTTPBearer
from starlette.responses import HTMLResponse, JSONResponse

from btc_platform.logs import configure_logging, get_logger
from btc_platform.serving.api_models import CandleIn, ErrorBody, ModelCard, Pair, Prediction
from btc_platform.serving.api_token import TOKEN_HELP, BearerToken
from btc_platform.serving.client_candles import BadCandles, features_from_candles
from btc_platform.serving.dashboard import dashboard_data, dashboard_page
from btc_platform.serving.forecast import logged_record, model_card, prediction
from btc_platform.serving.runtime import LiveRuntime, Unavailable
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
    """Real-time p10/p50/p90 forecasts of the BTC price a few minutes ahead.

    Authentication: when the server has BTC_API_TOKEN set, /predict, /predict_candles,
    /model, /dashboard and /metrics need the header `Authorization: Bearer <token>` (401
    otherwise); /livez and /readyz stay open for probes.
    """

    def __init__(self) -> None:
        self.settings = load_settings()
        configure_logging(self.settings.log_level, self.settings.log_format)
        self.runtime = LiveRuntime(self.settings)
        self.runtime.start()

    def __is_ready__(self) -> bool:
        return self.runtime.ready()

    @bentoml.on_shutdown
    def shutdown(self) -> None:
        self.runtime.stop()

    @bentoml.api
    def predict(self, pair: Pair) -> Prediction:
        """The forecast for `pair` from the newest closed candle of the live stream."""
        try:
            return self.runtime.predict(pair)
        except KeyError:
            served = ", ".join(self.settings.pairs)
            return error(400, f"pair: {pair} is not served (BTC_PAIRS: {served})")
        except Unavailable as reason:
            return error(503, str(reason))

    @bentoml.api
    def predict_candles(self, pair: Pair, candles: list[CandleIn]) -> Prediction:
        """The forecast from your own recent candles (oldest first), without the live state."""
        model = self.runtime.champion.current
        if model is None:
            return error(503, self.runtime.champion.problem or "no champion model loaded")
        try:
            features = features_from_candles(
                pair, candles, self.settings.candle_seconds, model.feature_set
            )
        except BadCandles as reason:
            return error(400, str(reason))
        forecast = self.runtime.client_forecast(model, features)
        answer = prediction(model, forecast, self.settings.horizon_minutes)
        record = logged_record(answer, model, forecast, self.runtime.horizon_candles)
        self.runtime.prediction_log.publish(record | {"origin": "candles"})
        return answer

    @info.get("/dashboard", response_class=HTMLResponse, dependencies=BEARER)
    def dashboard(self) -> HTMLResponse:
        """A live page: price, the forecasts and their bands, live skill, the champion."""
        return HTMLResponse(dashboard_page())

    @info.get("/dashboard/data", dependencies=BEARER)
    def dashboard_numbers(self, pair: str = "BTC/USD") -> dict[str, object]:
        """What the dashboard draws, as JSON."""
        return dashboard_data(self.runtime, pair.upper())

    @info.get(
        "/model",
        response_model=ModelCard,
        responses={401: {"model": ErrorBody}, 503: {"model": ErrorBody}},
        dependencies=BEARER,
    )
    def model(self) -> ModelCard | JSONResponse:
        """The champion being served: version, feature set, training window, holdout metrics
        and its promotion decision."""
        served = self.runtime.champion.current
        if served is None:
            return error(503, self.runtime.champion.problem or "no champion model loaded")
        return model_card(served, self.runtime.champion.problem, self.runtime.calibrations(served))


def _token() -> str | None:
    token = load_settings().api_token
    return token.get_secret_value() if token else None


PricePredictor.add_asgi_middleware(BearerToken, token=_token())
