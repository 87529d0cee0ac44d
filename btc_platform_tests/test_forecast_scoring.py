"""Forecast scoring: metrics on known numbers, both baselines, the evaluation's choice of the
strongest baseline, and the promotion gate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from btc_platform.training.baseline_rule import BaselineRule
from btc_platform.training.baselines import (
    STATIC,
    VOL_SCALED,
    baseline_bands,
    static_band,
)
from btc_platform.training.evaluation import Evaluation
from btc_platform.training.metrics import crps, pinball_loss, score, skill, winkler_score
from btc_platform.training.promotion import ChampionScore, decide
from btc_platform.training.rescore import rescore_on_holdout
from btc_platform.training.search_space import SearchSpace
from btc_platform.training.significance import SkillInterval


def test_pinball_loss_and_scores_on_known_numbers():
    actual = np.array([0.001, -0.002])
    forecast = np.array([[-0.001, 0.0, 0.001], [-0.001, 0.0, 0.001]])
    # row 1: p10 .1*.002, p50 .5*.001, p90 0; row 2: p10 .9*.001, p50 .5*.002, p90 .1*.003
    expected = np.mean([0.0002, 0.0005, 0.0, 0.0009, 0.001, 0.0003])
    assert pinball_loss(actual, forecast) == pytest.approx(expected, rel=1e-12)
    metrics = score(actual, forecast)
    assert metrics["mae_bps"] == pytest.approx(15.0)
    assert metrics["band_coverage"] == 0.5
    assert metrics["band_width_bps"] == pytest.approx(20.0)
    assert np.isnan(metrics["directional_accuracy"])  # a median that never moves
    assert (metrics["below_p10"], metrics["below_p50"], metrics["below_p90"]) == (0.5, 0.5, 0.5)
    # Winkler: width 20 bp each, plus 2 / 0.2 x the 10 bp miss of the second row
    assert winkler_score(actual, forecast) * 1e4 == pytest.approx((20 + 20 + 10 * 10) / 2)
    assert skill(0.8, 1.0) == pytest.approx(0.2)


def test_crps_of_the_quantiles_matches_the_gaussian_it_describes():
    """For a normal forecast given by its own p10/p50/p90, CRPS from the quantiles is close
    to the closed form sigma * (z (2 Phi(z) - 1) + 2 phi(z) - 1/sqrt(pi))."""
    from scipy.stats import norm

    sigma = 1.0
    q = norm.ppf([0.1, 0.5, 0.9]) * sigma
    actual = np.array([0.0, 0.5, -1.5, 3.0])
    forecast = np.tile(q, (len(actual), 1))
    z = actual / sigma
    exact = sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
    assert crps(actual, forecast) == pytest.approx(np.mean(exact), rel=0.05)


def test_coverage_per_volatility_tercile():
    actual = np.array([0.0, 0.0, 5.0, 5.0, 0.0, 5.0])
    forecast = np.tile([-1.0, 0.0, 1.0], (6, 1))
    vol = np.array([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    metrics = score(actual, forecast, vol)
    assert metrics["coverage_low_vol"] == 1.0
    assert metrics["coverage_mid_vol"] == 0.0
    assert metrics["coverage_high_vol"] == 0.5


def test_the_static_baseline_is_the_training_windows_quantiles():
    train_target = np.linspace(-0.01, 0.01, 1_001)
    np.testing.assert_allclose(static_band(train_target, 3), [[-0.008, 0.0, 0.008]] * 3, atol=1e-12)


def test_the_vol_scaled_baseline_scales_the_standardized_band_by_each_rows_volatility():
    train_vol = np.full(1_001, 2e-4)
    train_target = np.linspace(-1, 1, 1_001) * 2e-4 * np.sqrt(5)  # standardized: -1 .. 1
    bands, z_bands = baseline_bands(
        train_target, {VOL_SCALED: train_vol}, {VOL_SCALED: np.array([1e-4, 4e-4])}, 5
    )
    assert z_bands[VOL_SCALED] == pytest.approx((-0.8, 0.8))
    np.testing.assert_allclose(
        bands[VOL_SCALED],
        [
            [-0.8e-4 * np.sqrt(5), 0, 0.8e-4 * np.sqrt(5)],
            [-3.2e-4 * np.sqrt(5), 0, 3.2e-4 * np.sqrt(5)],
        ],
        rtol=1e-12,
    )
    assert bands[STATIC].shape == (2, 3)


def interval(skill: float, half_width: float = 0.02) -> SkillInterval:
    return SkillInterval(skill, skill - half_width, skill + half_width, 3.0, 5, 500)


def evaluation(
    model_pinball: float, model_mae: float, vol_pinball: float = 1.2, half_width: float = 0.02
) -> Evaluation:
    """Each skill's 95% interval is the skill +- `half_width`."""

    def base(pinball: float) -> dict[str, float]:
        return {"pinball_loss": pinball, "mae_bps": 10.0, "rmse_bps": 14.0, "band_coverage": 0.8}

    losses = {STATIC: 1.0, VOL_SCALED: vol_pinball}
    return Evaluation(
        model=base(model_pinball) | {"mae_bps": model_mae, "winkler_bps": 1, "crps_bps": 1},
        baselines={
            name: base(loss) | {"winkler_bps": 1, "crps_bps": 1} for name, loss in losses.items()
        },
        intervals={
            name: interval(1 - model_pinball / loss, half_width) for name, loss in losses.items()
        },
    )


def test_the_evaluation_compares_against_the_strongest_baseline():
    weak_vol = evaluation(0.9, 10.0, vol_pinball=1.2)
    assert weak_vol.strongest == STATIC
    strong_vol = evaluation(0.9, 10.0, vol_pinball=0.95)
    assert strong_vol.strongest == VOL_SCALED
    skills = strong_vol.skills
    assert skills["pinball_loss_skill"] == pytest.approx(1 - 0.9 / 0.95)
    assert skills["pinball_skill_static"] == pytest.approx(0.1)
    assert skills["pinball_skill_vol_scaled"] == pytest.approx(1 - 0.9 / 0.95)
    verdict = strong_vol.verdict()
    assert verdict.startswith(
        "the p10-p90 band beats every baseline (pinball skill +5.26% [95% +3.26%, +7.26%] vs "
        "the volatility-scaled band, +10.00% [95% +8.00%, +12.00%] vs the static-quantile band"
    )


def test_the_first_champion_must_beat_the_strongest_band_and_not_lose_on_the_median():
    promoted = decide(evaluation(0.9, 10.04), champion=None, tolerance=0.005)
    assert promoted.promote
    assert promoted.reason == "beats the baselines significantly; no champion yet"
    assert promoted.as_tags()["promotion.skill_vs_vol_scaled"] == f"{1 - 0.9 / 1.2:.6g}"
    assert promoted.as_tags()["promotion.interval_vs_static"] == "+10.00% [95% +8.00%, +12.00%]"
    worse_band = decide(evaluation(1.0, 9.0), champion=None)
    assert not worse_band.promote
    assert worse_band.reason == "pinball loss 1 does not beat the static-quantile band's 1"
    # beats the static band but not the volatility-scaled one: rejected, the rule is named
    only_static = decide(evaluation(0.9, 10.0, vol_pinball=0.85), champion=None)
    assert not only_static.promote
    assert only_static.reason == (
        "pinball loss 0.9 does not beat the volatility-scaled band's 0.85"
    )
    assert only_static.as_tags()["promotion.baseline"] == VOL_SCALED
    worse_median = decide(evaluation(0.9, 10.06), champion=None, tolerance=0.005)
    assert not worse_median.promote
    assert "p50 MAE 10.06 bps is worse than zero return's 10 bps by more than 0.5%" in (
        worse_median.reason
    )


def test_an_insignificant_win_over_the_strongest_baseline_is_refused():
    # 5.3% better than the volatility-scaled band, but the interval reaches below zero
    noisy = decide(evaluation(0.9, 10.0, vol_pinball=0.95, half_width=0.06), champion=None)
    assert not noisy.promote
    assert noisy.reason == (
        "pinball skill +5.26% [95% -0.74%, +11.26%] vs the volatility-scaled band is not "
        "significant (promotion needs the whole 95% interval above zero)"
    )
    assert noisy.as_tags()["promotion.decision"] == "rejected"
    clear = decide(evaluation(0.9, 10.0, vol_pinball=0.95, half_width=0.03), champion=None)
    assert clear.promote


def champion_score(champion: float, challenger: float, half_width: float = 0.02) -> ChampionScore:
    return ChampionScore(
        "3",
        champion,
        challenger_pinball=challenger,
        rows=400,
        interval=interval(1 - challenger / champion, half_width),
    )


def test_a_challenger_must_beat_the_champion_significantly_on_rows_it_never_saw():
    better = decide(evaluation(0.9, 10.0), champion_score(0.95, 0.9))
    assert better.promote
    assert better.reason == (
        "beats the baselines and champion v3 significantly (+5.26% [95% +3.26%, +7.26%] on "
        "the 400 holdout rows newer than its training data)"
    )
    assert better.as_tags()["promotion.interval_vs_champion"] == "+5.26% [95% +3.26%, +7.26%]"
    worse = decide(evaluation(0.9, 10.0), champion_score(0.85, 0.9))
    assert not worse.promote
    assert worse.reason == (
        "pinball loss 0.9 does not beat champion v3's 0.85 on the 400 holdout rows newer "
        "than its training data"
    )
    tags = worse.as_tags()
    assert tags["promotion.decision"] == "rejected"
    assert tags["promotion.champion_version"] == "3"
    assert tags["promotion.champion_pinball"] == "0.85"
    noisy = decide(evaluation(0.9, 10.0), champion_score(0.95, 0.9, half_width=0.1))
    assert not noisy.promote
    assert noisy.reason.startswith("pinball skill +5.26% [95% -4.74%, +15.26%] vs champion v3 on")
    unscorable = decide(
        evaluation(0.9, 10.0), ChampionScore("3", None, reason="uses other features")
    )
    assert unscorable.promote
    assert unscorable.reason == "beats the baselines significantly; champion v3 uses other features"


def test_search_space_ranges_are_checked():
    with pytest.raises(ValueError, match="search space max_depth: need 0 < low <= high"):
        SearchSpace(max_depth=(6, 2))
    with pytest.raises(ValueError, match=r"search space subsample: need \[low, high\]"):
        SearchSpace(subsample=(0.5,))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="search space colsample_bytree: values must be <= 1"):
        SearchSpace(colsample_bytree=(0.5, 2.0))


def test_the_champion_is_rescored_on_the_holdout_rows_it_never_trained_on():
    class Constant:
        columns = ("vol_ref",)
        is_baseline = False

        def predict(self, rows):
            return np.tile([-0.01, 0.0, 0.01], (len(rows), 1))

    start = pd.Timestamp("2025-01-01")
    holdout = pd.DataFrame(
        {
            "window_start": pd.date_range(start, periods=1_000, freq="60s"),
            "vol_ref": 1.0,
            "target": np.linspace(-0.02, 0.02, 1_000),
        }
    )
    challenger = np.tile([-0.02, 0.0, 0.02], (1_000, 1))
    # trained until 600 minutes in: the last 401 rows are new to it (as_of >= then)
    until = (start + pd.Timedelta(minutes=600)).to_pydatetime()
    fair = rescore_on_holdout("3", Constant(), until, holdout, challenger, 60, 5)
    assert fair.rows == 401 and not fair.waits
    tail = holdout["target"].to_numpy()[-401:]
    assert fair.pinball_loss == pytest.approx(pinball_loss(tail, Constant().predict(tail)))
    assert fair.challenger_pinball == pytest.approx(pinball_loss(tail, challenger[-401:]))
    assert fair.interval is not None and fair.interval.rows == 401
    assert fair.interval.skill == pytest.approx(1 - fair.challenger_pinball / fair.pinball_loss)
    assert fair.where() == "on the 401 holdout rows newer than its training data"
    # too few new rows: never scored on rows it trained on; the decision waits
    late = (start + pd.Timedelta(minutes=900)).to_pydatetime()
    waiting = rescore_on_holdout("3", Constant(), late, holdout, challenger, 60, 5)
    assert (waiting.rows, waiting.waits, waiting.pinball_loss) == (101, True, None)
    decision = decide(evaluation(0.9, 10.0), waiting)
    assert not decision.promote
    assert decision.reason == (
        "champion v3 can be compared on only 101 holdout rows newer than its training data "
        "(needs 240): the decision waits for more data"
    )
    unknown = rescore_on_holdout("3", Constant(), None, holdout, challenger, 60, 5)
    assert unknown.pinball_loss is None and not unknown.waits
    # the EWMA-blend rule as champion: the gate's baselines already hold the challenger to it
    rule = BaselineRule("candle-vol/v2", (-1.0, 1.0), 5)
    as_rule = rescore_on_holdout("1", rule, until, holdout, challenger, 60, 5)
    assert (as_rule.pinball_loss, as_rule.waits) == (None, False)
    assert as_rule.reason == "is the EWMA-blend rule, held to above as a baseline"
