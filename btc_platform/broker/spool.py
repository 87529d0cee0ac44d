"""An append-only file of records that could not reach Kafka, replayed when it is back."""

from __future__ import annotations

import base64
from collections.abc import Iterable
from pathlib import Path
from typing import NamedTuple

import orjson


class Record(NamedTuple):
    topic: str
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


def _encode(record: Record) -> bytes:
    return orjson.dumps(
        {
            "topic": record.topic,
            "key": base64.b64encode(record.key).decode() if record.key is not None else None,
            "value": base64.b64encode(record.value).decode(),
            "headers": [[name, base64.b64encode(data).decode()] for name, data in record.headers],
        }
    )


def _decode(line: bytes) -> Record:
    raw = orjson.loads(line)
    key = base64.b64decode(raw["key"]) if raw["key"] is not None else None
    headers = tuple((name, base64.b64decode(data)) for name, data in raw["headers"])
    return Record(raw["topic"], key, base64.b64decode(raw["value"]), headers)


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    def append(self, records: Iterable[Record]) -> int:
        lines = [_encode(record) + b"\n" for record in records]
        if lines:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("ab") as spool:
                spool.writelines(lines)
        return len(lines)

    def take(self) -> list[Record]:
        """Read and remove every spooled record (the caller re-sends them)."""
        if not self.path.exists():
            return []
        claimed = self.path.with_suffix(".replaying")
        self.path.replace(claimed)
        records = [_decode(line) for line in claimed.read_bytes().splitlines() if line.strip()]
        claimed.unlink()
        return records
