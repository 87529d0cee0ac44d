"""What `up` prints: the table of URLs once the children answer, then a status line (last
drain, champion, last prediction) every `every` seconds."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx

from btc_platform.settings import Settings
from btc_platform.stack.child import Child

LAST_DRAIN = """{ runsOrError(filter: {pipelineName: "drain"}, limit: 1) {
  ... on Runs { results { status endTime } } } }"""
HEALTH_TIMEOUT = 240.0


def last_drain(dagster: Child) -> str:
    try:
        answer = httpx.post(f"{dagster.url}/graphql", json={"query": LAST_DRAIN}, timeout=5)
        runs = answer.json()["data"]["runsOrError"]["results"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return "unknown"
    if not runs:
        return "none yet"
    ended = runs[0]["endTime"]
    ago = f", {time.time() - ended:.0f} s ago" if ended else ""
    return f"{runs[0]['status'].lower()}{ago}"


def champion_version(settings: Settings) -> str:
    from btc_platform.tracking.mlflow_setup import use_tracking  # MLflow: only when asked
    from btc_platform.tracking.registry import Registry

    use_tracking(str(settings.mlflow_tracking_uri))
    try:
        champion = Registry(settings.model_name).champion()
    except Exception as error:  # the store not created yet, or unreachable
        return f"unknown ({type(error).__name__})"
    return f"v{champion.version}" if champion else "none yet"


def last_prediction(predictor: Child, pair: str) -> str:
    try:
        answer = httpx.post(f"{predictor.url}/predict", json={"pair": pair}, timeout=5)
        body = answer.json()
    except (httpx.HTTPError, ValueError):
        return "service not answering"
    if answer.status_code != 200:
        return f"none ({body.get('error', answer.status_code)})"
    return (
        f"{pair} {body['predicted_price']:,.0f} in {body['horizon_minutes']} min "
        f"(band {body['band_low']:,.0f}-{body['band_high']:,.0f}, model v{body['model_version']})"
    )


class StatusReporter(threading.Thread):
    def __init__(
        self,
        settings: Settings,
        children: list[Child],
        echo: Callable[[str], None],
        every: float = 30.0,
    ) -> None:
        super().__init__(name="up-status", daemon=True)
        self.settings, self.children, self.echo, self.every = settings, children, echo, every
        self.stopped = threading.Event()

    def run(self) -> None:
        waiting = list(self.children)
        deadline = time.monotonic() + HEALTH_TIMEOUT
        while waiting and not self.stopped.wait(1.0):
            for child in list(waiting):
                if child.healthy():
                    waiting.remove(child)
                elif child.exited() is not None or time.monotonic() > deadline:
                    self.echo(f"{child.name} is not answering at {child.url}: see its log")
                    waiting.remove(child)
        width = max(len(c.name) for c in self.children)
        for child in self.children:
            self.echo(f"{child.name:<{width}}  {child.url:<24}  {child.purpose}")
        by_name = {child.name: child for child in self.children}
        while not self.stopped.wait(self.every):
            self.echo(
                f"status  last drain: {last_drain(by_name['dagster'])} | champion: "
                f"{champion_version(self.settings)} | last prediction: "
                f"{last_prediction(by_name['predictor'], self.settings.pairs[0])}"
            )
