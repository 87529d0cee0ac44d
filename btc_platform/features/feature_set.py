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
    # Columns in units of the price's volatility (not scale-free): they scale a forecast and
    # the volatility baseline, but are never a model input.
    scale_columns: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.name}/v{self.version}"

    @property
    def model_columns(self) -> tuple[str, ...]:
        """The scale-free columns a model learns from."""
        return tuple(c for c in self.columns if c not in self.scale_columns)

    def as_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "version": self.version,
            "columns": list(self.columns),
            "scale_columns": list(self.scale_columns),
            "warmup_candles": self.warmup_candles,
        }
