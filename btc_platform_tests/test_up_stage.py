"""The stage `up`'s status line names, from what it observed, and how the line is written:
in place on a terminal, one line per change (and a periodic one) in a log."""

from __future__ import annotations

from btc_platform.stack.stage import Observed, Stage, rendering, stage

STALE = (
    "features for BTC/USD are stale (37 candles behind): the newest closed candle ended 2250 s "
    "ago (limit 300 s, BTC_MAX_FEATURE_AGE_SECONDS)"
)


def test_each_stage_of_a_cold_start_is_named_with_its_progress() -> None:
    backfill = {"pair": "BTC/USD", "fraction": 0.425, "eta_seconds": 130, "trades": 41_000}
    assert str(stage(Observed(backfill=backfill, backfill_finished=False))) == (
        "backfill (BTC/USD 42%, ETA 2 min 10 s)"
    )
    draining = Observed(trades_behind=120_500, candles=1_400, first_model_candles=2_600)
    assert str(stage(draining)) == (
        "draining (120,500 trades behind, 1,400 of 2,600 candles for a first model)"
    )
    caught_up = Observed(trades_behind=0, candles=2_650, first_model_candles=2_600)
    assert str(stage(caught_up)) == "draining (2,650 of 2,600 candles for a first model)"
    training = Observed(training=(1, 4, 9.6), answer=(503, "btc-price has no champion yet"))
    assert str(stage(training)) == "first training (trial 1/4, ETA 10 s)"
    assert str(stage(Observed(training=(0, 4, None)))) == "first training (trial 0/4, ETA ?)"
    catching_up = Observed(champion="v1", answer=(503, STALE))
    assert str(stage(catching_up)) == "prediction service catching up (37 candles behind)"
    loading = Observed(champion="v1", answer=(503, "no champion model loaded"))
    assert str(stage(loading)) == "prediction service catching up (no champion model loaded)"
    assert str(stage(Observed(champion="v1"))) == "prediction service starting"
    assert str(stage(Observed(champion="v1", answer=(200, "")))) == "serving"


def test_a_backfill_in_flight_comes_first_and_a_finished_one_not_at_all() -> None:
    backfill = {"pair": "BTC/USD", "fraction": 1.0, "eta_seconds": 0, "done": True}
    serving = Observed(backfill=backfill, champion="v2", answer=(200, ""))
    assert stage(serving).name == "serving"
    restarting = Observed(backfill=backfill, backfill_finished=False, champion="v2")
    assert stage(restarting).name == "backfill"


def test_a_terminal_gets_the_line_in_place_and_a_log_one_line_per_change() -> None:
    draining, training = Stage("draining", "10 of 20 candles"), Stage("first training")
    # terminal: rewritten in place; at a change of stage the old line is kept
    assert rendering(None, draining, "a", in_place=True, due=False) == "\r\x1b[Ka"
    assert rendering("draining", draining, "b", in_place=True, due=False) == "\r\x1b[Kb"
    assert rendering("draining", training, "c", in_place=True, due=False) == "\n\r\x1b[Kc"
    # log: the first line, a line at each change, a periodic line when due, nothing else
    assert rendering(None, draining, "a", in_place=False, due=False) == "a\n"
    assert rendering("draining", draining, "b", in_place=False, due=False) == ""
    assert rendering("draining", draining, "b", in_place=False, due=True) == "b\n"
    assert rendering("draining", training, "c", in_place=False, due=False) == "c\n"
