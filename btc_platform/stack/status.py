"""What `up` prints: the table of URLs once the children answer, then a status line: the
stage (backfill, draining, first training, prediction service catching up, serving) with its
progress, the last drain, the champion and the last prediction."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

from btc_platform.broker.topics import Topics
from btc_platform.ingest.progress import latest_report
from btc_platform.settings import Settings
from btc_platform.stack.child import Child
from btc_platform.stack.observe import (
    KafkaLag,
    dagster_state,
    predictor_answer,
    training_progress,
)
from btc_platform.stack.stage import Observed, Stage, rendering, stage
from btc_platform.stack.supervisor import Supervisor
from btc_platform.training.first_model import FIRST_MODEL_CANDLES

HEALTH_TIMEOUT = 240.0


def champion_version(settings: Settings) -> str:
    from btc_platform.tracking.mlflow_setup import use_tracking  # MLflow: only when asked
    from btc_platform.tracking.registry import Registry
    from btc_platform.training.baseline_rule import is_rule

    use_tracking(str(settings.mlflow_tracking_uri))
    try:
        champion = Registry(settings.model_name_of(settings.default_pair_horizon)).champion()
    except Exception as error:  # the store not created yet, or unreachable
        return f"unknown ({type(error).__name__})"
    if champion is None:
        return "none yet"
    rule = " (the EWMA-blend rule)" if is_rule(dict(champion.tags)) else ""
    return f"v{champion.version}{rule}"


def last_prediction(answer: tuple[int, dict] | None, pair: str) -> str:
    if answer is None:
        return "service not answering"
    status, body = answer
    if status != 200:
        return f"none ({body.get('error', status)})"
    return (
        f"{pair} {body['predicted_price']:,.0f} in {body['horizon_minutes']} min "
        f"(band {body['band_low']:,.0f}-{body['band_high']:,.0f}, model v{body['model_version']})"
    )


class StatusReporter(threading.Thread):
    """The URLs once the children answer, then the status line: on a terminal updated in
    place every `poll` s; in a log one line at each change of stage and every `every` s."""

    def __init__(
        self,
        settings: Settings,
        children: list[Child],
        echo: Callable[[str], None],
        supervisor: Supervisor,
        every: float = 30.0,
        in_place: bool | None = None,
    ) -> None:
        super().__init__(name="up-status", daemon=True)
        self.settings, self.children, self.echo, self.every = settings, children, echo, every
        self.supervisor = supervisor
        self.in_place = sys.stdout.isatty() if in_place is None else in_place
        self.poll = 2.0 if self.in_place else min(every, 5.0)
        self.stopped = threading.Event()

    def write(self, text: str) -> None:
        sys.stdout.write(text)
        sys.stdout.flush()

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
        lag = KafkaLag(self.settings.kafka_bootstrap, Topics().trades)
        shown, last_line = None, float("-inf")
        try:
            while not self.stopped.wait(self.poll):
                for event in self.supervisor.check():
                    self.write(("\n" if self.in_place else "") + f"{event}\n")
                    shown = None  # the status line starts afresh below the event
                current, line = self.status(by_name, lag)
                if self.stopped.is_set():  # shutting down: the children may be stopping
                    break
                due = time.monotonic() - last_line >= self.every
                text = rendering(shown, current, line, self.in_place, due)
                if text:
                    self.write(text)
                    last_line = time.monotonic()
                shown = current.name
        finally:
            lag.close()
            if self.in_place and shown is not None:
                self.write("\n")

    def status(self, by_name: dict[str, Child], lag: KafkaLag) -> tuple[Stage, str]:
        dagster = dagster_state(by_name["dagster"].url)
        champion = champion_version(self.settings)
        token = self.settings.api_token
        answer = predictor_answer(
            by_name["predictor"].url,
            self.settings.pairs[0],
            token.get_secret_value() if token else None,
        )
        backfill = latest_report("rest backfill")
        first = not champion.startswith("v")
        seen = Observed(
            backfill=backfill,
            backfill_finished=backfill is None
            or bool(backfill.get("done") and backfill.get("pair") == self.settings.pairs[-1]),
            trades_behind=lag.behind() if first else None,
            candles=dagster.candles,
            first_model_candles=FIRST_MODEL_CANDLES,
            training=training_progress(str(self.settings.mlflow_tracking_uri)) if first else None,
            champion=None if first else champion,
            answer=None if answer is None else (answer[0], str(answer[1].get("error", ""))),
        )
        current = stage(seen)
        restarts = self.supervisor.summary()
        return current, (
            f"status  {current} | last drain: {dagster.drain} | champion: {champion} | "
            f"last prediction: {last_prediction(answer, self.settings.pairs[0])}"
            + (f" | restarts: {restarts}" if restarts else "")
        )
