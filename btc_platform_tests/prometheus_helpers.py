"""Reading a Prometheus /metrics page the way Prometheus does."""

from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample


def scrape(url: str, headers: dict[str, str] | None = None) -> list[Sample]:
    answer = httpx.get(url, headers=headers, timeout=10)
    answer.raise_for_status()
    return [s for family in text_string_to_metric_families(answer.text) for s in family.samples]


def value(samples: list[Sample], name: str, **labels: str) -> float | None:
    """The value of the one sample `name` whose labels include `labels` (None: no such)."""
    found = [
        s.value
        for s in samples
        if s.name == name and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert len(found) <= 1, f"{name}{labels} matches {len(found)} samples"
    return found[0] if found else None
