"""Training benchmark: a full tuned training run (100,000 rows, 30 trials, 2 threads,
MLflow logging and registration included), and feature computation on 1,000,000 candles
against a naive loop that recomputes the indicators on a trailing window for every candle
(what a live service without incremental state does).

Target: <= 5 minutes for the training run.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from machine import context

from btc_platform.features.compute import FEATURES, compute_features
from btc_platform.logs import configure_logging
from btc_platform.runtime import tune_garbage_collector
from btc_platform.tracking.mlflow_setup import ModelStore
from btc_platform.training.config import TrainingConfig
from btc_platform.training.dataset import build_training_set
from btc_platform_tests.candle_factory import market_candles

TARGET_SECONDS = 300


def training_run(rows: int, trials: int, workdir: Path, *, pruning: bool = True) -> float:
    """One training run; prints its time and holdout skill, returns the seconds."""
    from btc_platform.retrain import train_candidate
    from btc_platform.training import tuning

    candles = market_candles(rows + FEATURES.warmup_candles + 5, seed=1, autocorrelation=0.1)
    features = compute_features(candles, 60)
    dataset = build_training_set(features, candles, FEATURES, "BTC/USD", 60, 5)
    store = ModelStore(f"sqlite:///{workdir / 'mlflow.db'}", workdir / "artifacts", "bench")
    store.experiment_for(dataset.lineage)  # create the store outside the timing
    if not pruning:  # the reference: no trial can be pruned before the last one
        tuning.PRUNE_AFTER, saved = trials, tuning.PRUNE_AFTER
    started = time.perf_counter()
    try:
        candidate = train_candidate(store, dataset, TrainingConfig(trials=trials))
    finally:
        if not pruning:
            tuning.PRUNE_AFTER = saved
    elapsed = time.perf_counter() - started
    verdict = "met" if elapsed <= TARGET_SECONDS else "NOT met"
    label = "with pruning" if pruning else "without pruning (reference)"
    print(f"training run {label}: {dataset.lineage.rows:,} rows, {trials} trials, 2 threads")
    print(f"  wall time              {elapsed:8.1f} s  (target <= {TARGET_SECONDS} s: {verdict})")
    print(f"  per trial              {elapsed / trials:8.2f} s  (up to 3 walk-forward folds each)")
    print(f"  holdout pinball skill  {candidate.evaluation.skills['pinball_loss_skill']:+8.2%}")
    return elapsed


def naive_features(candles, sample: int) -> float:
    """Seconds per candle when every candle recomputes its features from a trailing window."""
    window = FEATURES.warmup_candles + 1
    started = time.perf_counter()
    for end in range(window, window + sample):
        compute_features(candles.iloc[end - window : end], 60)
    return (time.perf_counter() - started) / sample


def feature_speed(count: int, sample: int) -> None:
    candles = market_candles(count, seed=2)
    started = time.perf_counter()
    features = compute_features(candles, 60)
    vectorized = time.perf_counter() - started
    per_candle = naive_features(candles, sample)
    naive_total = per_candle * count
    columns = len(FEATURES.columns)
    print(f"features on {count:,} candles ({columns} columns, {len(features):,} rows)")
    print(f"  one pass (pandas-ta)   {vectorized:8.1f} s  ({count / vectorized:,.0f} candles/s)")
    print(
        f"  naive per-candle loop  {naive_total:8.0f} s  (extrapolated from {sample} candles, "
        f"{per_candle * 1000:.1f} ms each)"
    )
    print(f"  ratio                  {naive_total / vectorized:8.0f}x faster")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--candles", type=int, default=1_000_000)
    parser.add_argument("--naive-sample", type=int, default=300)
    parser.add_argument(
        "--unpruned-reference", action="store_true", help="also train without trial pruning"
    )
    args = parser.parse_args()
    configure_logging("WARNING", "console")
    tune_garbage_collector()
    print(context())
    if args.unpruned_reference:
        with tempfile.TemporaryDirectory() as workdir:
            reference = training_run(args.rows, args.trials, Path(workdir), pruning=False)
    with tempfile.TemporaryDirectory() as workdir:
        pruned = training_run(args.rows, args.trials, Path(workdir))
    if args.unpruned_reference:
        print(f"  pruning / reference    {pruned / reference:8.2f}x the time")
    feature_speed(args.candles, args.naive_sample)


if __name__ == "__main__":
    main()
