"""Output tables: columns, consistency with model state, and the per-run metrics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model.market import MarketModel, default_home
from sim.model.outputs import FIRM_COLUMNS, crossover_day, early_reach, late_reach, run_summary
from sim.scenario import ScenarioError
from tests.conftest import SMALL, run

SPEC_COLUMNS = (
    "step, firm, reach, organic_reach, paid_reach, earned_reach, reply_reach, impressions, delivered, "
    "attention_loss, likes, comments, negative_comments, shares, replies_sent, deletions, followers, "
    "new_follows, unfollows, trust_mean, trust_followers, fatigue_followers, spend, cost_per_reach, "
    "cumulative_reach, second_contact_rate"
).split(", ")
MARKET_SPEC_COLUMNS = (  # MARKET_SPEC.md, "Outputs added", per firm and day
    "unfollows_fatigue, unfollows_negative, unfollows_deleted, ads_hidden_new, commenter_trust_change_answered, "
    "commenter_trust_change_unanswered"
).split(", ")


def test_firm_table_has_one_row_per_step_and_firm_with_the_spec_columns(small_run):
    table = small_run.firm_table()
    assert list(table.columns) == SPEC_COLUMNS + MARKET_SPEC_COLUMNS == list(FIRM_COLUMNS)
    assert len(table) == SMALL["steps"] * 2
    assert table.groupby("firm")["step"].apply(list).map(lambda s: s == list(range(1, 41))).all()
    maybe_empty = ["trust_followers", "fatigue_followers", "cost_per_reach", *MARKET_SPEC_COLUMNS[-2:]]
    assert not table.drop(columns=maybe_empty).isna().any().any()


def test_reported_followers_equal_follows_every_day(small_run):
    for step, day in enumerate(small_run.days, start=1):
        counted = day["follows_after"].sum(axis=0)
        reported = [day["firms"][f.name]["followers"] for f in small_run.firms]
        assert counted.tolist() == reported


def test_daily_columns_are_consistent(small_run):
    t = small_run.firm_table()
    assert (t["reach"] <= t["impressions"]).all()
    assert (t["impressions"] <= t["delivered"]).all()
    channels = t[["organic_reach", "paid_reach", "earned_reach", "reply_reach"]]
    assert (channels.max(axis=1) <= t["reach"]).all() and (t["reach"] <= channels.sum(axis=1)).all()
    assert (t["likes"] <= t["impressions"]).all()
    assert (t.groupby("firm")["cumulative_reach"].diff().fillna(0) >= 0).all()
    assert t["second_contact_rate"].between(0, 1).all()
    delivered = t["delivered"].where(t["delivered"] > 0)
    assert np.allclose(t["attention_loss"], (1 - t["impressions"] / delivered).fillna(0.0))


def test_reach_matches_the_seen_items(small_run):
    day = small_run.days[-1]
    seen = day["seen"]
    for firm in small_run.firms:
        users = np.unique(seen.user[seen.firm == firm.index])
        assert day["firms"][firm.name]["reach"] == users.size
        assert day["firms"][firm.name]["impressions"] == (seen.firm == firm.index).sum()


def test_platform_attention_used_never_exceeds_capacity(small_run):
    platform = small_run.platform_table()
    assert len(platform) == SMALL["steps"]
    assert (platform["attention_used"] <= platform["attention_capacity"]).all()
    assert (platform["seen_candidates"] <= platform["candidates"]).all()


def test_default_homes_follow_the_spec_formula():
    assert default_home(0, 2, 100, 100) == (25, 50)
    assert default_home(1, 2, 100, 100) == (75, 50)
    assert default_home(1, 3, 90, 41) == (45, 20)
    model = MarketModel(seed=1, width=20, height=10, steps=1)
    assert [f.home for f in model.firms] == [(5, 5), (15, 5)]


def test_bad_keyword_arguments_raise_one_clear_error():
    with pytest.raises(ScenarioError, match="attention_mean"):
        MarketModel(seed=1, attention_mean=-3)
    with pytest.raises(ScenarioError, match="weak_ties"):
        MarketModel(seed=1, width=3, height=3, weak_ties=1)


def _reach(a, b):
    return pd.DataFrame({"a": a, "b": b}, index=pd.RangeIndex(1, len(a) + 1, name="step"))


def test_crossover_day_is_the_start_of_the_final_unbroken_lead():
    a = [10] * 40 + [0] * 40
    b = [5] * 80
    day = crossover_day(_reach(a, b))
    trailing = _reach(a, b).rolling(14, min_periods=1).mean()
    assert (trailing.loc[day:, "b"] > trailing.loc[day:, "a"]).all()
    assert trailing.loc[day - 1, "b"] <= trailing.loc[day - 1, "a"]


def test_crossover_day_is_empty_without_a_change_of_leader_or_with_a_final_tie():
    assert np.isnan(crossover_day(_reach([5] * 50, [4] * 50)))
    assert np.isnan(crossover_day(_reach([5] * 50, [5] * 50)))
    assert crossover_day(_reach([5, 4, 4, 4], [5, 5, 5, 5])) == 2  # tied on day 1, ahead from day 2


def test_early_and_late_reach_windows():
    reach = _reach(list(range(1, 201)), [0] * 200)
    assert early_reach(reach)["a"] == pytest.approx(15.5)
    assert late_reach(reach)["a"] == pytest.approx(np.mean(range(111, 201)))


def test_run_summary_columns(small_run):
    summary = run_summary(small_run.firm_table(), small_run.cascade_table())
    assert list(summary["firm"]) == ["broadcast", "dialogue"]
    for column in ("early_reach", "late_reach", "crossover_day", "reach_per_spend", "followers_final",
                   "trust_final", "max_cascade", "cumulative_reach_final"):
        assert column in summary
    table = small_run.firm_table()
    b = table[table.firm == "broadcast"]
    assert summary.loc[0, "reach_per_spend"] == pytest.approx(b["reach"].sum() / b["spend"].sum())
