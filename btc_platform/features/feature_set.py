"""A versioned feature set: its identity and columns travel with every model trained on it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FeatureSet:
    name: str
    version: int
    columns: tuple[str, ...]
    # Candles a row needs before it: the longest window, plus enough for the recursive
    # (EMA-style) indicators to forget their start (weight left < 1e-12).
    warmup_candles: int

    @property
    def key(self) -> str:
        return f"{self.name}/v{self.version}"

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "columns": list(self.columns),
            "warmup_candles": self.warmup_candles,
        }
