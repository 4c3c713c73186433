"""The duel's answer three ways: the matched-spend variant, the per-draw outcomes, model averaging."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from sim.calibration.answer import (
    AVERAGE,
    AnswerError,
    answer_figure,
    answer_markdown,
    answer_table,
    duel_outcomes,
    mixture_interval,
)
from sim.calibration.matched import MatchedSpendError, expected_spend, matched_outcomes, matched_spend_overrides
from sim.calibration.predictive import jeffreys
from sim.jobs.models import MarketSweepModel
from sim.runs.runner import run_replication
from sim.scenario import ModelConfig, validate_config
from sim.scenario.io import load_scenario


def world(scenario: str = "scenarios/duel.yaml", **changes) -> dict:
    """A resolved configuration: the scenario with the changes (``market`` merged)."""
    kwargs = load_scenario(scenario).model_kwargs()
    market = changes.pop("market", None)
    kwargs.update(changes)
    if market is not None:
        kwargs["market"] = {**kwargs.get("market", {}), **market}
    return validate_config(kwargs, "test", cls=ModelConfig).model_dump(mode="json")


def firm(config: dict, name: str) -> dict:
    return next(f for f in config["firms"] if f["name"] == name)


def poisson_min_mean(lam: float, cap: int) -> float:
    """E[min(Poisson(lam), cap)] by its definition."""
    k = np.arange(cap)
    return float((k * stats.poisson.pmf(k, lam)).sum() + cap * stats.poisson.sf(cap - 1, lam))


# -- the matched-spend variant --------------------------------------------------------------------


def test_expected_spend_of_broadcast_follows_the_spend_order():
    """Full world: ads fill what posts leave of 26 (20 when 6 or fewer posts); tiny world: ads capped by users."""
    big = world()
    assert expected_spend(big, firm(big, "broadcast")) == pytest.approx(20 + poisson_min_mean(6, 6), rel=1e-9)
    tiny = world(width=12, height=12, steps=40)  # radius 10 covers the torus: half the 144 users follow at set-up
    p26 = stats.poisson.sf(25, 6)
    hand = (1 - p26) * 0.72 + poisson_min_mean(6, 26) + p26 * 0.0
    assert expected_spend(tiny, firm(tiny, "broadcast")) == pytest.approx(hand, rel=1e-9)


@pytest.mark.parametrize("changes", [
    dict(width=12, height=12, steps=40),
    dict(width=30, height=30, steps=120),
    dict(width=20, height=20, steps=40, cost_post=0.5),
    dict(width=40, height=40, steps=40, firms=[{"name": "broadcast", "preset": "broadcast", "ads_share": 0.5,
                                                  "budget_per_10k": 150.0},
                                                 {"name": "dialogue", "preset": "dialogue", "budget_per_10k": 10.0}]),
])  # fmt: skip
def test_matched_dialogue_expects_broadcasts_spend(changes):
    """The matched dialogue's expected daily spend equals broadcast's; only posts and budget change."""
    config = world(**changes)
    overrides = matched_spend_overrides(config)
    assert set(overrides) == {"firms.dialogue.posts_per_day", "firms.dialogue.budget"}
    matched = MarketSweepModel(config).config(overrides)
    target = expected_spend(config, firm(config, "broadcast"))
    assert target > 1.5 * expected_spend(config, firm(config, "dialogue"))  # the plain dialogue spends far less
    assert expected_spend(matched, firm(matched, "dialogue")) == pytest.approx(target, rel=1e-6)
    plain, new = firm(config, "dialogue"), firm(matched, "dialogue")
    for field in ("promo_share", "quality", "ads_per_day", "reply_rate", "delete_critics", "name", "preset"):
        assert new[field] == plain[field]
    validate_config(matched, "matched", cls=ModelConfig)  # a valid world
    # the budget never stops the posts: P(posts > budget / cost_post) < 1e-9, and it pays as much again in replies
    lam, budget = new["posts_per_day"], new["budget"]
    assert stats.poisson.sf(budget / 2 / config["cost_post"], lam) < 1e-9
    from sim.calibration.matched import resolved_firm

    assert budget >= resolved_firm(plain, config)["budget"]


def test_a_measured_target_is_matched():
    config = world(width=12, height=12, steps=40)
    assert matched_spend_overrides(config, target=9.0)["firms.dialogue.posts_per_day"] == pytest.approx(9.0)


@pytest.mark.parametrize("firms, problem", [
    ([{"name": "broadcast", "preset": "broadcast"}], "needs one firm named (or with preset) 'dialogue'"),
    ([{"name": "a", "preset": "dialogue"}, {"name": "b", "preset": "dialogue"}], "'broadcast'"),
])  # fmt: skip
def test_no_duel_is_one_line(firms, problem):
    with pytest.raises(MatchedSpendError) as err:
        matched_spend_overrides(world(width=12, height=12, steps=10, firms=firms))
    assert problem in str(err.value) and "\n" not in str(err.value)


def test_a_pair_by_preset_is_found():
    config = world(width=12, height=12, steps=10, firms=[{"name": "push", "preset": "broadcast"},
                                                           {"name": "talk", "preset": "dialogue"}])  # fmt: skip
    assert set(matched_spend_overrides(config)) == {"firms.talk.posts_per_day", "firms.talk.budget"}


# Tolerance of the real runs: dialogue's spend on posts (spend less replies) within 12% of broadcast's mean daily
# spend over three seeds; its whole spend within 35% (replies come on top: ~13 a day at 0.1 in this world).
POSTS_TOLERANCE, TOTAL_TOLERANCE = 0.12, 0.35


@pytest.mark.parametrize("scenario, changes", [
    ("scenarios/duel.yaml", {}),
    ("scenarios/market.yaml", {"market": {"pages": 60}}),
])  # fmt: skip
def test_posts_matched_dialogue_spends_on_posts_what_broadcast_spends(scenario, changes):
    config = world(scenario, width=12, height=12, steps=40, **changes)
    matched = MarketSweepModel(config).config(matched_spend_overrides(config))
    push, posts, total = [], [], []
    for seed in (1, 2, 3):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            firms = run_replication(matched, seed, 0).firms.set_index("firm")
        push.append(firms.loc["broadcast", "spend"].mean())
        talk = firms.loc["dialogue"]
        total.append(talk["spend"].mean())
        posts.append((talk["spend"] - talk["replies_sent"] * config["cost_reply"]).mean())
    assert np.mean(posts) == pytest.approx(np.mean(push), rel=POSTS_TOLERANCE)
    assert np.mean(total) == pytest.approx(np.mean(push), rel=TOTAL_TOLERANCE)


# The matched run of `matched_outcomes` (fit="total", the default): dialogue's late mean daily spend, posts and
# replies, within 6% of broadcast's in the same run (the search stops within 5%).
TOTAL_MATCH = 0.06


@pytest.mark.parametrize("scenario, changes", [
    ("scenarios/duel.yaml", {}),
    ("scenarios/market.yaml", {"market": {"pages": 60}}),
])  # fmt: skip
def test_matched_run_spends_what_broadcast_spends(scenario, changes):
    config = world(scenario, width=12, height=12, steps=40, **changes)
    top = matched_spend_overrides(config)["firms.dialogue.posts_per_day"]
    for seed in (1, 2):
        plain = duel_outcomes(run_replication(config, seed, 0))
        assert plain["dialogue.spend"] < 0.4 * plain["broadcast.spend"]  # the plain dialogue leaves its money unspent
        row = matched_outcomes(config, seed, 0)
        assert row["matched.dialogue.spend"] == pytest.approx(row["matched.broadcast.spend"], rel=TOTAL_MATCH)
        ratio = row["matched.dialogue.spend"] / row["matched.broadcast.spend"]
        assert row["matched.spend_ratio"] == pytest.approx(ratio)
        assert 1.0 < row["matched.dialogue.posts_per_day"] < top  # more posts than plain; replies take the rest
        assert 1 < row["matched.runs"] <= 12
        for name in ("broadcast", "dialogue"):
            assert {f"matched.{name}.late_reach", f"matched.{name}.early_reach",
                    f"matched.{name}.late_reach_per_spend"} <= set(row)  # fmt: skip


def test_matched_run_fitting_posts_only_is_one_run():
    config = world(width=12, height=12, steps=40)
    row = matched_outcomes(config, 1, 0, fit="posts")
    assert row["matched.runs"] == 1
    assert row["matched.dialogue.posts_per_day"] == matched_spend_overrides(config)["firms.dialogue.posts_per_day"]
    with pytest.raises(MatchedSpendError, match="fit: must be 'posts' or 'total'"):
        matched_outcomes(config, 1, 0, fit="budget")


# -- one replication's outcomes -------------------------------------------------------------------


def test_duel_outcomes_agree_with_the_summary():
    config = world(width=12, height=12, steps=100)  # longer than the 90-day late window
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = run_replication(config, 5, 0)
    out = duel_outcomes(rep)
    summary = rep.summary.set_index("firm")
    for name in ("broadcast", "dialogue"):
        days = rep.firms[rep.firms["firm"] == name].sort_values("step")
        assert out[f"{name}.late_reach"] == summary.at[name, "late_reach"]
        assert out[f"{name}.late_reach"] == pytest.approx(days["reach"].iloc[-90:].mean())
        assert out[f"{name}.early_reach"] == summary.at[name, "early_reach"]
        assert out[f"{name}.spend"] == pytest.approx(days.loc[days["step"] > 10, "spend"].mean())
        assert out[f"{name}.spend"] != pytest.approx(days["spend"].mean())  # the window matters
        assert out[f"{name}.late_reach_per_spend"] == pytest.approx(out[f"{name}.late_reach"] / out[f"{name}.spend"])
    assert math.isnan(out["crossover_day"]) == math.isnan(summary["crossover_day"].iloc[0])


def test_reach_per_spend_is_nan_when_nothing_was_spent():
    config = world(width=12, height=12, steps=20)
    firm(config, "dialogue")["budget"] = 0.0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = duel_outcomes(run_replication(config, 5, 0))
    assert out["dialogue.spend"] == 0 and math.isnan(out["dialogue.late_reach_per_spend"])


# -- the table and model averaging ----------------------------------------------------------------


def frame_with(wins: dict[str, tuple[int, int]]) -> pd.DataFrame:
    """Draws per structure where dialogue wins k of n times in every comparison (gap +1 or -1)."""
    rows = []
    for structure, (k, n) in wins.items():
        for draw in range(n):
            win = draw < k
            rows.append({"structure": structure, "draw": draw,
                         "broadcast.late_reach": 100.0, "dialogue.late_reach": 101.0 if win else 99.0,
                         "broadcast.late_reach_per_spend": 4.0, "dialogue.late_reach_per_spend": 5.0 if win else 3.0,
                         "matched.broadcast.late_reach": 100.0, "matched.dialogue.late_reach": 102.0 if win else 90.0})
    return pd.DataFrame(rows)  # fmt: skip


def row(table: pd.DataFrame, structure: str, comparison: str) -> pd.Series:
    return table[(table["structure"] == structure) & (table["comparison"] == comparison)].iloc[0]


def test_jeffreys_interval():
    low, high = jeffreys(5, 10)
    assert low == pytest.approx(stats.beta.ppf(0.025, 5.5, 5.5)) and high == pytest.approx(1 - low)
    assert jeffreys(0, 10)[0] == 0.0 and jeffreys(10, 10)[1] == 1.0
    assert jeffreys(3, 10)[0] == pytest.approx(stats.beta.ppf(0.025, 3.5, 7.5))


def test_one_structure_with_all_the_probability_is_its_own_answer():
    table = answer_table(frame_with({"a": (15, 20), "b": (2, 10)}), {"a": 1.0, "b": 0.0})
    for comparison in ("per_firm", "per_spend", "matched_spend"):
        a, b, avg = row(table, "a", comparison), row(table, "b", comparison), row(table, AVERAGE, comparison)
        assert (a["p"], a["runs"], a["wins"]) == (0.75, 20, 15)
        assert (a["p_low"], a["p_high"]) == pytest.approx(jeffreys(15, 20))
        assert b["p"] == 0.2 and (b["p_low"], b["p_high"]) == pytest.approx(jeffreys(2, 10))  # shown, weighs nothing
        assert avg["p"] == 0.75 and (avg["p_low"], avg["p_high"]) == pytest.approx(jeffreys(15, 20), abs=1e-9)
    assert row(table, "a", "matched_spend")["gap_median"] == 2.0  # 15 wins of +2 out of 20 draws
    assert row(table, AVERAGE, "per_spend")["gap_median"] == 2.0 - 1.0  # per spend gaps are +1 and -1
    assert math.isnan(row(table, "a", "per_firm")["spend_ratio_median"])  # no spend columns given


def test_equal_probabilities_average_the_shares_and_mix_the_intervals():
    table = answer_table(frame_with({"a": (38, 40), "b": (2, 40)}), {"a": 0.5, "b": 0.5})
    avg = row(table, AVERAGE, "per_firm")
    assert avg["p"] == pytest.approx(0.5)
    # far-apart structures: each tail of the 95% mixture interval is a 90% tail of one structure
    assert avg["p_low"] == pytest.approx(stats.beta.ppf(0.05, 2.5, 38.5), abs=1e-6)
    assert avg["p_high"] == pytest.approx(stats.beta.ppf(0.95, 38.5, 2.5), abs=1e-6)
    assert avg["p_low"] < 0.05 and avg["p_high"] > 0.95  # it contains both structures' shares
    # identical structures: the mixture is each one's own Jeffreys posterior
    same = answer_table(frame_with({"a": (7, 20), "b": (7, 20)}), {"a": 0.5, "b": 0.5})
    assert (row(same, AVERAGE, "per_firm")[["p_low", "p_high"]].tolist()) == pytest.approx(jeffreys(7, 20))


def test_mixture_interval_matches_sampling():
    parts = [(0.7, 12, 30), (0.3, 25, 30)]
    low, high = mixture_interval(parts)
    draws = np.random.default_rng(3)
    which = draws.random(400_000) < 0.7
    x = np.where(which, draws.beta(12.5, 18.5, 400_000), draws.beta(25.5, 5.5, 400_000))
    assert (low, high) == pytest.approx(tuple(np.quantile(x, [0.025, 0.975])), abs=3e-3)
    assert mixture_interval([(1.0, 0, 10), (0.0, 10, 10)]) == pytest.approx((0.0, jeffreys(0, 10)[1]))


def test_undefined_draws_are_left_out_of_their_comparison():
    frame = frame_with({"a": (6, 10)})
    frame.loc[0, "dialogue.late_reach_per_spend"] = np.nan  # dialogue spent nothing: a win per firm, nothing per spend
    table = answer_table(frame, {"a": 1.0})
    assert row(table, "a", "per_spend")[["runs", "wins"]].tolist() == [9, 5]
    assert row(table, "a", "per_firm")[["runs", "wins"]].tolist() == [10, 6]


def test_matched_comparison_uses_the_matched_runs_broadcast():
    frame = frame_with({"a": (10, 10)})
    frame["matched.broadcast.late_reach"] = 1000.0  # broadcast wins every matched run
    assert row(answer_table(frame, {"a": 1.0}), "a", "matched_spend")["wins"] == 0


def test_spend_ratio_is_the_median_of_the_runs_compared():
    frame = frame_with({"a": (2, 3)})
    frame["broadcast.spend"], frame["dialogue.spend"] = 20.0, [1.0, 2.0, 4.0]
    frame["matched.broadcast.spend"], frame["matched.dialogue.spend"] = 20.0, [19.0, 21.0, 30.0]
    table = answer_table(frame, {"a": 1.0})
    assert row(table, "a", "per_firm")["spend_ratio_median"] == pytest.approx(0.1)
    assert row(table, "a", "matched_spend")["spend_ratio_median"] == pytest.approx(1.05)


@pytest.mark.parametrize("probabilities, problem", [
    ({"a": 0.5, "b": 0.4}, "sum to 1"),
    ({"a": 1.0}, "no probability for structures b"),
    ({"a": 0.5, "b": 0.25, "c": 0.25}, "structures c have probability > 0 but no runs"),
])  # fmt: skip
def test_bad_probabilities_are_one_line(probabilities, problem):
    with pytest.raises(AnswerError, match=problem):
        answer_table(frame_with({"a": (1, 4), "b": (2, 4)}), probabilities)


def test_figure_and_markdown(tmp_path):
    table = answer_table(frame_with({"part1": (3, 30), "market_off": (12, 30), "market_full": (27, 30)}),
                         {"part1": 0.1, "market_off": 0.0, "market_full": 0.9})  # fmt: skip
    path = answer_figure(table, tmp_path / "answer.png")
    assert path.stat().st_size > 10_000 and path.read_bytes()[:4] == b"\x89PNG"
    text = answer_markdown(table)
    assert "| **model average** |" in text and "market_full" in text
    p = 0.1 * 0.1 + 0.9 * 0.9
    assert f"in a share {p:.2f} of the draws" in text
    assert len([line for line in text.splitlines() if line.startswith("- ")]) == 3


@pytest.mark.parametrize("changes, problem", [
    (dict(cost_post=0.0), "cost_post: is 0.0; posts must cost something"),
    (dict(cost_post=0.0005), r"firms.dialogue.posts_per_day: would be 14\d\d.\d, above the allowed 1000"),
])  # fmt: skip
def test_unmatchable_worlds_are_one_line(changes, problem):
    with pytest.raises(MatchedSpendError, match=problem) as err:
        matched_spend_overrides(world(width=12, height=12, steps=10, **changes))
    assert "\n" not in str(err.value)


def test_real_draws_of_two_structures_make_a_table(tmp_path):
    """Plain and matched runs of two tiny structures, end to end: every column the table needs is there."""
    worlds = {"part1": world(width=12, height=12, steps=40),
              "market_full": world("scenarios/market.yaml", width=12, height=12, steps=40, market={"pages": 60})}
    rows = []
    for structure, config in worlds.items():
        for draw in range(3):
            rep = run_replication(config, 100 + draw, draw)
            rows.append({"structure": structure, "draw": draw, **duel_outcomes(rep),
                         **matched_outcomes(config, 100 + draw, draw)})
    table = answer_table(pd.DataFrame(rows), {"part1": 0.25, "market_full": 0.75})
    assert len(table) == 9 and table["runs"].tolist() == [3] * 6 + [6] * 3
    matched = table[(table["comparison"] == "matched_spend") & (table["structure"] != AVERAGE)]
    assert matched["spend_ratio_median"].between(0.94, 1.06).all()
    plain = table[(table["comparison"] == "per_firm") & (table["structure"] != AVERAGE)]
    assert (plain["spend_ratio_median"] < 0.4).all()
    assert answer_figure(table, tmp_path / "answer.png").exists()
    print(answer_markdown(table))
