"""What `up` observes of the platform it started: Dagster's runs and candle count (over
GraphQL), the drain's lag in Kafka (its committed offsets), the trial count of a training
in flight (MLflow), and the prediction service's answer. Each returns "unknown" or None
while its part is not answering."""

from __future__ import annotations

import time
from dataclasses import dataclass

import httpx

from btc_platform.drain import GROUP_ID, drain_positions

OVERVIEW = """{
  drains: runsOrError(filter: {pipelineName: "drain"}, limit: 1) {
    ... on Runs { results { status endTime } } }
  candles: assetOrError(assetKey: {path: ["candles_1m"]}) {
    ... on Asset { assetMaterializations(limit: 1) {
      metadataEntries { label ... on IntMetadataEntry { intValue } } } } }
}"""


@dataclass(frozen=True, slots=True)
class DagsterState:
    drain: str = "unknown"  # the newest drain run: none yet, started, success, 3 s ago, ...
    candles: int = 0


def _entries(asset: dict) -> dict[str, dict]:
    events = (asset or {}).get("assetMaterializations") or []
    return {e["label"]: e for e in events[0]["metadataEntries"]} if events else {}


def dagster_state(url: str) -> DagsterState:
    try:
        answer = httpx.post(f"{url}/graphql", json={"query": OVERVIEW}, timeout=5)
        data = answer.json()["data"]
        runs = data["drains"]["results"]
    except (httpx.HTTPError, KeyError, TypeError, ValueError):
        return DagsterState()
    if not runs:
        drain = "none yet"
    else:
        ended = runs[0]["endTime"]
        drain = runs[0]["status"].lower() + (f", {time.time() - ended:.0f} s ago" if ended else "")
    candles = _entries(data["candles"]).get("candles_total", {}).get("intValue") or 0
    return DagsterState(drain, candles)


class KafkaLag:
    """How many messages of a topic the drain has not committed yet."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._consumer = None

    def behind(self) -> int | None:
        from kafka import KafkaConsumer
        from kafka.errors import KafkaError

        try:
            if self._consumer is None:  # in the drain's group, to read its offsets; never commits
                self._consumer = KafkaConsumer(
                    bootstrap_servers=self.bootstrap, group_id=GROUP_ID, enable_auto_commit=False
                )
            positions = drain_positions(self._consumer, self.topic)
        except KafkaError:
            return None
        return sum(max(0, end - committed) for committed, end in positions.values())

    def close(self) -> None:
        if self._consumer is not None:
            self._consumer.close()


def training_progress(tracking_uri: str) -> tuple[int, int, float | None] | None:
    """(trials done, trials, ETA in s) of the newest training run in flight, or None."""
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient

    try:
        client = MlflowClient(tracking_uri)
        experiments = [e.experiment_id for e in client.search_experiments()]
        running = (
            client.search_runs(experiments, "attributes.status = 'RUNNING'", max_results=20)
            if experiments
            else []
        )
        parents = [
            r
            for r in running
            if "mlflow.parentRunId" not in r.data.tags and "trials" in r.data.params
        ]
        if not parents:
            return None
        parent = max(parents, key=lambda r: r.info.start_time)
        done = len(
            client.search_runs(
                [parent.info.experiment_id],
                f"tags.mlflow.parentRunId = '{parent.info.run_id}' "
                "and attributes.status = 'FINISHED'",
                max_results=1_000,
            )
        )
    except MlflowException:
        return None
    trials = int(parent.data.params["trials"])
    elapsed = time.time() - parent.info.start_time / 1000
    eta = elapsed / done * max(0, trials - done) if done else None
    return min(done, trials), trials, eta


def predictor_answer(url: str, pair: str, token: str | None = None) -> tuple[int, dict] | None:
    """The status and body of POST /predict for `pair` (with the API token, when there is
    one), or None when nothing answers."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        answer = httpx.post(f"{url}/predict", json={"pair": pair}, headers=headers, timeout=5)
        return answer.status_code, answer.json()
    except (httpx.HTTPError, ValueError):
        return None
