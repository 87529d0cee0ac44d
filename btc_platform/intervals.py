"""Interval texts as users write them (CLI flags, Dagster config): `60`, `1m`, `1h` -> seconds."""

from __future__ import annotations


def parse_interval(text: str) -> int:
    """`60`, `1m`, `15m`, `1h`, `1d` -> seconds."""
    units = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
    text = text.strip().lower()
    number, unit = (text[:-1], units[text[-1]]) if text[-1:] in units else (text, 1)
    if not number.isdigit() or int(number) <= 0:
        raise ValueError(f"{text!r} is not an interval like 60, 1m, 15m or 1h")
    return int(number) * unit
