"""What `up` observes of the platform it started: Dagster's runs and drain metadata (over
GraphQL), the drain's lag in Kafka, the trial count of a training in flight (MLflow), and the
prediction service's answer. Each returns "unknown" or None while its part is not answering."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field

import httpx

OVERVIEW = """{
  drains: runsOrError(filter: {pipelineName: "drain"}, limit: 1) {
    ... on Runs { results { status endTime } } }
  trades: assetOrError(assetKey: {path: ["trades"]}) {
    ... on Asset { assetMaterializations(limit: 1) {
      metadataEntries { label ... on JsonMetadataEntry { jsonString } } } } }
  candles: assetOrError(assetKey: {path: ["candles_1m"]}) {
    ... on Asset { assetMaterializations(limit: 1) {
      metadataEntries { label ... on IntMetadataEntry { intValue } } } } }
}"""


@dataclass(frozen=True, slots=True)
class DagsterState:
    drain: str = "unknown"  # the newest drain run: none yet, started, success, 3 s ago, ...
    next_offsets: dict[int, int] = field(default_factory=dict)  # drained up to, per partition
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
    offsets = _entries(data["trades"]).get("kafka_next_offsets", {}).get("jsonString") or "{}"
    candles = _entries(data["candles"]).get("candles_total", {}).get("intValue") or 0
    return DagsterState(drain, {int(p): int(o) for p, o in json.loads(offsets).items()}, candles)


class KafkaLag:
    """How many messages of a topic a consumer that stopped at `next_offsets` has not read."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.bootstrap, self.topic = bootstrap, topic
        self._consumer = None

    def behind(self, next_offsets: dict[int, int]) -> int | None:
        from kafka import KafkaConsumer, TopicPartition
        from kafka.errors import KafkaError

        try:
            if self._consumer is None:
                self._consumer = KafkaConsumer(bootstrap_servers=self.bootstrap)
            partitions = self._consumer.partitions_for_topic(self.topic) or set()
            ends = self._consumer.end_offsets([TopicPartition(self.topic, p) for p in partitions])
        except KafkaError:
            return None
        return sum(max(0, end - next_offsets.get(tp.partition, 0)) for tp, end in ends.items())

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
