"""The training set: features at each candle's close, the forward log-return target and the
forward realized variance (what the volatility model learns)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass
from datetime import datetime

import numpy as np
import pandas as pd

from btc_platform.features.feature_set import FeatureSet
from btc_platform.features.segments import without_outages

TARGET = "target"
TARGET_VARIANCE = "target_variance"


@dataclass(frozen=True, slots=True)
class Lineage:
    """What a training set was built from; logged with every model trained on it."""

    pair: str
    interval_seconds: int
    horizon_minutes: int
    first_window: str
    last_window: str
    rows: int
    content_hash: str

    def as_tags(self) -> dict[str, str]:
        return {f"dataset.{key}": str(value) for key, value in asdict(self).items()}


@dataclass(frozen=True, slots=True)
class TrainingSet:
    """Rows oldest first: `window_start`, the feature columns and `target`."""

    frame: pd.DataFrame
    feature_set: FeatureSet
    lineage: Lineage

    @property
    def features(self) -> pd.DataFrame:
        return self.frame[list(self.feature_set.columns)]

    @property
    def target(self) -> np.ndarray:
        return self.frame[TARGET].to_numpy()

    @property
    def horizon_candles(self) -> int:
        return horizon_candles(self.lineage.horizon_minutes, self.lineage.interval_seconds)

    @property
    def trained_until(self) -> datetime:
        """When the last row's target was realized: a model fit on all rows saw nothing later."""
        lineage = self.lineage
        last = pd.Timestamp(self.frame["window_start"].iloc[-1])
        return (
            last
            + pd.Timedelta(seconds=lineage.interval_seconds)
            + pd.Timedelta(minutes=lineage.horizon_minutes)
        ).to_pydatetime()


def horizon_candles(horizon_minutes: int, interval_seconds: int) -> int:
    seconds = horizon_minutes * 60
    if seconds % interval_seconds:
        raise ValueError(
            f"horizon {horizon_minutes} min is not a whole number of {interval_seconds}s candles"
        )
    return seconds // interval_seconds


def _closes(candles: pd.DataFrame) -> pd.Series:
    """Closes by window_start, oldest first, without the windows of an outage (no target
    or variance reaches into one)."""
    return without_outages(candles.sort_values("window_start")).set_index("window_start")["close"]


def forward_log_return(
    candles: pd.DataFrame, horizon_minutes: int, interval_seconds: int
) -> pd.Series:
    """log(close at window_start + horizon / close at window_start), by window_start.

    Matched by time, not position, so a missing window yields no target rather than a
    wrong one.
    """
    closes = _closes(candles)
    ahead = closes.reindex(closes.index + pd.Timedelta(minutes=horizon_minutes)).to_numpy()
    return pd.Series(np.log(ahead / closes.to_numpy()), index=closes.index, name=TARGET)


def forward_variance(
    candles: pd.DataFrame, horizon_minutes: int, interval_seconds: int
) -> pd.Series:
    """The sum of squared one-candle log returns over the horizon after each window_start
    (NaN when a window in it is missing)."""
    closes = _closes(candles)
    step = pd.Timedelta(seconds=interval_seconds)
    log_close = pd.Series(np.log(closes.to_numpy()), index=closes.index)
    squared = (log_close - log_close.reindex(closes.index - step).to_numpy()) ** 2
    total = sum(
        squared.reindex(closes.index + step * k).to_numpy()
        for k in range(1, horizon_candles(horizon_minutes, interval_seconds) + 1)
    )
    return pd.Series(total, index=closes.index, name=TARGET_VARIANCE)


def content_hash(frame: pd.DataFrame) -> str:
    digest = hashlib.sha256(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def build_training_set(
    features: pd.DataFrame,
    candles: pd.DataFrame,
    feature_set: FeatureSet,
    pair: str,
    interval_seconds: int,
    horizon_minutes: int,
) -> TrainingSet:
    """Join features with their targets; rows whose horizon has not passed yet are left out."""
    targets = pd.concat(
        [
            forward_log_return(candles, horizon_minutes, interval_seconds),
            forward_variance(candles, horizon_minutes, interval_seconds),
        ],
        axis=1,
    )
    frame = features.merge(targets.reset_index(), on="window_start", how="inner")
    frame = frame.dropna(subset=[TARGET, TARGET_VARIANCE, *feature_set.scale_columns])
    frame = frame.sort_values("window_start", ignore_index=True)
    if frame.empty:
        raise ValueError(
            f"no training rows for {pair}: need candles with features "
            f"(over {feature_set.warmup_candles} of warm-up) and {horizon_minutes} min after them"
        )
    frame = frame[["window_start", *feature_set.columns, TARGET, TARGET_VARIANCE]]
    lineage = Lineage(
        pair=pair,
        interval_seconds=interval_seconds,
        horizon_minutes=horizon_minutes,
        first_window=str(frame["window_start"].iloc[0]),
        last_window=str(frame["window_start"].iloc[-1]),
        rows=len(frame),
        content_hash=content_hash(frame),
    )
    return TrainingSet(frame=frame, feature_set=feature_set, lineage=lineage)
