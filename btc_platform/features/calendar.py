"""Time of day and week at a candle's close: intraday volatility follows the clock."""

from __future__ import annotations

import numpy as np

from btc_platform.features.candle_arrays import CandleArrays

MINUTES_PER_DAY = 1_440
DAY_HARMONICS = (1, 2, 3, 4)


def calendar_features(c: CandleArrays) -> dict[str, np.ndarray]:
    close_time = c.close_time
    hour = close_time.dt.hour.to_numpy(dtype="float64")
    minute_of_hour = close_time.dt.minute.to_numpy(dtype="float64")
    minute = hour * 60 + minute_of_hour
    day_angle = 2 * np.pi * minute / MINUTES_PER_DAY
    weekday = close_time.dt.day_of_week.to_numpy(dtype="float64")
    week_angle = 2 * np.pi * (weekday + minute / MINUTES_PER_DAY) / 7
    out: dict[str, np.ndarray] = {}
    for k in DAY_HARMONICS:
        out[f"time_of_day_sin_{k}"] = np.sin(k * day_angle)
        out[f"time_of_day_cos_{k}"] = np.cos(k * day_angle)
    out["day_of_week_sin"] = np.sin(week_angle)
    out["day_of_week_cos"] = np.cos(week_angle)
    out["minute_of_hour"] = minute_of_hour
    out["hour_of_day"] = hour
    return out


CALENDAR_COLUMNS = (
    *(f"time_of_day_{f}_{k}" for k in DAY_HARMONICS for f in ("sin", "cos")),
    "day_of_week_sin",
    "day_of_week_cos",
    "minute_of_hour",
    "hour_of_day",
)
