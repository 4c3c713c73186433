"""Tests that kill mutants the mutation run found alive (docs/testing.md, "Mutation testing").

Each test asserts real behaviour through public state or a module's public
function on a tiny world, like tests/test_wiring.py; the docstring names the
mutant(s) it was written against.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sim.model.outputs import ValidationRecorder, crossover, reach_matrix, run_summary

# -- outputs: the crossover's leader and overtaken firm, its degenerate cases -----


def _reach(**columns):
    n = len(next(iter(columns.values())))
    return pd.DataFrame(columns, index=pd.RangeIndex(1, n + 1, name="step"))


def test_crossover_names_the_final_leader_and_the_firm_it_passed_last():
    """Mutants: leader/overtaken replaced by None or "None", rivals that keep the leader, the
    leader taken from the second-to-last day (outputs.crossover)."""
    # c leads until day 20; b is second and passes c on day 21 (its trailing mean needs a few
    # more days); a stays behind both. On the last day b leads.
    a = [1] * 60
    b = [5] * 20 + [20] * 40
    c = [10] * 60
    result = crossover(_reach(a=a, b=b, c=c))
    trailing = _reach(a=a, b=b, c=c).rolling(14, min_periods=1).mean()
    first = int(np.flatnonzero((trailing["b"] > trailing[["a", "c"]].max(axis=1)).to_numpy())[0]) + 1
    assert (result.leader, result.overtaken, result.day) == ("b", "c", float(first))
    # with no change of leader the leader is still named, and nobody was overtaken
    steady = crossover(_reach(a=a, b=[3] * 60))
    assert np.isnan(steady.day) and (steady.leader, steady.overtaken) == ("b", None)


def test_crossover_passed_on_the_last_day_only():
    """Mutant: the final leader taken from the second-to-last day (``trailing[-2]``)."""
    result = crossover(_reach(a=[10] * 10, b=[0] * 9 + [200]))  # b's trailing mean 20 > 10 on day 10 only
    assert (result.day, result.leader, result.overtaken) == (10.0, "b", "a")


def test_crossover_with_a_tie_on_the_last_day_after_a_lead_is_empty():
    """Mutant: the tie test on the second-to-last day (``leads[-2]``)."""
    # a leads on days 1-2 (trailing 10 vs 0, then 10 vs 5); on day 3 both trailing means are 10
    result = crossover(_reach(a=[10, 10, 10], b=[0, 10, 20]))
    assert np.isnan(result.day) and result.leader is None and result.overtaken is None


@pytest.mark.parametrize("reach", [_reach(a=[3, 4, 5]), _reach(a=[], b=[])], ids=["one firm", "empty"])
def test_crossover_is_empty_with_one_firm_or_no_days(reach):
    """Mutants: ``and`` for ``or`` in the guard, the NaN day replaced by None, a field dropped."""
    result = crossover(reach)
    assert isinstance(result.day, float) and np.isnan(result.day)
    assert result.leader is None and result.overtaken is None


# -- outputs: the run summary on a hand-made firm table -----------------------------


def _firm_table():
    """Two firms, listed z before a, over 3 days; z spends 1.0 in all, a nothing."""
    rows = []
    for step in (1, 2, 3):
        rows.append(dict(step=step, firm="z", reach=10 * step, spend=0.5 if step < 3 else 0.0,
                         followers=step, trust_mean=0.1 * step, cumulative_reach=20 * step))
        rows.append(dict(step=step, firm="a", reach=step, spend=0.0,
                         followers=2 * step, trust_mean=0.2, cumulative_reach=step))
    return pd.DataFrame(rows)


def test_reach_matrix_is_indexed_by_step_with_firms_in_order_of_appearance():
    """Mutant: the pivot without ``index="step"`` (one row per table row, NaN elsewhere)."""
    reach = reach_matrix(_firm_table().iloc[::-1])  # rows in any order
    assert list(reach.index) == [1, 2, 3] and list(reach.columns) == ["a", "z"]
    assert reach.to_numpy().tolist() == [[1, 10], [2, 20], [3, 30]]


def test_run_summary_keeps_firm_order_and_divides_reach_by_positive_spend_only():
    """Mutants: groupby sorted (rows in alphabetical order), ``spend >= 0`` (a division by zero
    gives inf, not NaN), ``spend > 1`` (a total spend of exactly 1.0 gives NaN)."""
    summary = run_summary(_firm_table())
    assert list(summary["firm"]) == ["z", "a"]
    z, a = summary.iloc[0], summary.iloc[1]
    assert z["reach_per_spend"] == pytest.approx(60 / 1.0)
    assert np.isnan(a["reach_per_spend"])
    assert (z["followers_final"], a["followers_final"]) == (3, 6)
    assert z["early_reach"] == pytest.approx(20.0) and a["late_reach"] == pytest.approx(2.0)


def test_run_summary_max_cascade_is_zero_for_a_firm_without_items():
    """Mutants: max_cascade None, not reindexed to the summary's firms, NaN filled with 1, not int."""
    cascades = pd.DataFrame({"firm": ["z", "z"], "cascade_size": [4, 7]})
    summary = run_summary(_firm_table(), cascades)
    assert summary["max_cascade"].tolist() == [7, 0]
    assert summary["max_cascade"].dtype.kind == "i"


# -- outputs: the validation recorder's counters ------------------------------------


def test_recorder_counts_item_zero_per_channel_and_reaction_and_adds_up_over_days():
    """Mutants: item 0 dropped (``item > 0``), ``direct | positive``, every mask ignored,
    counters overwritten (``=`` for ``+=``), integer counters made float."""
    rec = ValidationRecorder(n_firms=2)
    rec.on_publish(np.array([0, 1]), audience=5)
    item = np.array([0, 0, 1, -1, 0])  # -1: a reply, skipped
    direct = np.array([True, False, True, True, False])
    positive = np.array([True, True, False, True, False])
    comment = np.array([False, True, False, True, False])
    rec.on_seen(item, direct, positive, comment)
    rec.on_seen(np.array([0]), np.array([True]), np.array([False]), np.array([False]))  # a second day
    cols = rec.item_columns(2)
    assert cols["audience"].tolist() == [5, 5]
    assert cols["seen"].tolist() == [4, 1]
    assert cols["direct_seen"].tolist() == [2, 1]
    assert cols["likes"].tolist() == [2, 0]
    assert cols["direct_positive"].tolist() == [1, 0]
    assert cols["comments"].tolist() == [1, 0]
    # growth beyond the first 64 items keeps the counts and stays integer
    rec.on_publish(np.array([200]), audience=3)
    rec.on_seen(np.array([200]), np.array([True]), np.array([True]), np.array([True]))
    grown = rec.item_columns(201)
    assert grown["seen"][[0, 1, 200]].tolist() == [4, 1, 1] and grown["audience"][200] == 3
    assert all(v.dtype == np.int64 for v in grown.values())


def test_recorder_follow_events_with_and_without_events():
    """Mutants of ``follow_events``: the empty table's columns and dtypes, and the rows' step,
    user, firm and event (decoded from the flat pair user * F + firm)."""
    rec = ValidationRecorder(n_firms=2)
    empty = rec.follow_events(["x", "y"])
    assert list(empty.columns) == ["step", "user", "firm", "event"] and len(empty) == 0
    assert [str(t) for t in empty.dtypes] == ["int64", "int64", "object", "object"]
    rec.on_follow_change(0, np.array([1, 4]), "initial")  # user 0 -> y, user 2 -> x
    rec.on_follow_change(3, np.array([], dtype=np.int64), "follow")  # nothing: no rows
    rec.on_follow_change(5, np.array([5]), "unfollow")  # user 2 -> y
    table = rec.follow_events(["x", "y"])
    assert table.to_dict("list") == {
        "step": [0, 0, 5], "user": [0, 2, 2], "firm": ["y", "x", "y"], "event": ["initial", "initial", "unfollow"],
    }
    assert table["step"].dtype == np.int64 and table["user"].dtype == np.int64


# -- items: share memory of items still alive survives forget_before -----------------


def test_forgetting_dead_items_keeps_every_share_of_the_first_live_item():
    """Mutants: the key ``item * N - user`` (keys of the first live item fall below the cut) and
    the cut ``>`` for ``>=`` (user 0's key of the first live item is dropped)."""
    from sim.model.items import ItemLog

    log = ItemLog(n_users=5)
    log.add(firm=0, kinds=np.array([0, 1], dtype=np.int8), day=0)  # items 0, 1
    log.add(firm=1, kinds=np.array([1], dtype=np.int8), day=1)  # item 2
    users, items = np.array([0, 3, 4, 0]), np.array([2, 2, 0, 1])
    assert log.first_new_shares(users, items).all()
    log.forget_before(1)  # items 0 and 1 are dead; item 2 is the first live one
    again = log.first_new_shares(np.array([0, 3, 1]), np.array([2, 2, 2]))
    assert again.tolist() == [False, False, True]  # users 0 and 3 shared item 2 already
    assert log.shares.tolist() == [1, 1, 3]


# -- feed: Candidates.take with a mask or an index array ------------------------------


def test_candidates_take_a_boolean_mask_or_an_index_array():
    """Mutants: the dtype test of ``Candidates.take`` inverted or forced (an index array read as a mask)."""
    from sim.model.feed import FIELDS, Candidates

    n = 5
    cands = Candidates(*[np.arange(10 * k, 10 * k + n) for k in range(len(FIELDS))])
    by_index = cands.take(np.array([3, 0, 3]))
    assert by_index.user.tolist() == [3, 0, 3] and by_index.social.tolist() == [53, 50, 53]
    by_mask = cands.take(np.array([False, True, False, False, True]))
    assert [getattr(by_mask, f).tolist() for f in FIELDS] == [[10 * k + 1, 10 * k + 4] for k in range(len(FIELDS))]


# -- firm: a firm's record before its first day ------------------------------------------


def test_a_new_firm_reports_nothing_before_its_first_day():
    """Mutant: ``Firm.today`` starts as None (the dashboard reads ``today.get`` of a fresh model)."""
    from sim.model.market import MarketModel

    model = MarketModel(seed=0, width=5, height=5, steps=2, weak_ties=2)
    assert all(firm.today == {} for firm in model.firms)
    model.step()
    assert all(firm.today["posts"] >= 0 and "reach" in firm.today for firm in model.firms)


# -- attention: the budget caps what is seen, down to a budget of one or zero --------------


def test_select_seen_keeps_at_most_the_budget_even_for_a_single_passing_candidate():
    """Mutant: the early return taken when exactly one candidate is over budget (``total == 1``)."""
    from sim.model.attention import select_seen

    log_tau = np.full(3, -np.inf)
    # user 0 has a budget of 0 and one passing candidate: the only user over budget
    seen = select_seen(np.array([0, 1, 2], dtype=np.int32), np.array([-0.1, -0.5, -0.2]), log_tau,
                       np.array([0, 1, 5], dtype=np.int64))
    assert seen.tolist() == [False, True, True]
    # two users over budget: each keeps its largest keys
    seen = select_seen(np.array([0, 1, 1, 2, 2, 2], dtype=np.int32), np.array([-0.1, -0.5, -0.2, -0.3, -0.9, -0.4]),
                       log_tau, np.array([0, 1, 2], dtype=np.int64))
    assert seen.tolist() == [False, False, True, True, False, True]


# -- feed: ads of a firm other than the first, and each firm's ad audience ----------------


def test_the_second_firms_ads_reach_its_targets_and_only_them():
    """Mutant of ``feed._assemble``: the ad loop bounded by ``ad_ptr[f - 1]`` (the first firm
    delivers everyone's ads, the others none). Only firm b, the second, buys ads."""
    from tests.test_wiring import firm, tiny

    model = tiny([firm("a"), firm("b", ads_per_day=4, budget=100.0)], width=5, height=5)
    model.step()
    a, b = (f.today for f in model.firms)
    assert (b["ads_bought"], b["paid_reach"], b["impressions"]) == (4, 4, 4)
    assert (a["paid_reach"], a["impressions"], a["delivered"]) == (0, 0, 0)


def test_audiences_give_each_firm_its_non_followers_as_ad_targets():
    """Each firm's own non-followers, not another firm's (a mutant of the old ``feed.audiences``
    sized each firm's slice of the eligible list with another firm's follower count)."""
    from sim.model.feed import ad_targets, audiences

    follows = np.zeros((6, 3), dtype=bool)
    follows[[0, 1, 2], 2] = True  # firm 2: users 0-2; firm 0: nobody; firm 1: user 5
    follows[5, 1] = True
    hidden = np.zeros((6, 3), dtype=bool)
    hidden[4, 0] = True  # firm 0's ads are hidden for user 4
    ptr, followers, n_eligible = audiences(follows, hidden)
    assert [followers[ptr[f] : ptr[f + 1]].tolist() for f in range(3)] == [[], [5], [0, 1, 2]]
    assert n_eligible.tolist() == [5, 5, 3]
    eligible = [ad_targets(follows, hidden, f, np.arange(n_eligible[f])).tolist() for f in range(3)]
    assert eligible == [[0, 1, 2, 3, 5], [0, 1, 2, 3, 4], [3, 4, 5]]


# -- kernels: the strict fatigue threshold for followers reached today ----------------------


def test_a_follower_reached_today_with_fatigue_exactly_at_the_threshold_stays():
    """Mutant of ``kernels.update_state``: ``>=`` for ``>`` on the branch of pairs that saw
    something today (tests/test_wiring.py checks the branch of pairs that saw nothing)."""
    from tests.test_wiring import ONE_POST_A_DAY, firm, tiny

    model = tiny([firm(**ONE_POST_A_DAY)], fatigue_decay=0.0, fatigue_gain=0.0, unfollow_threshold=0.7)
    model.users.follows[:] = True
    model.users.fatigue[:4] = 0.7
    model.users.fatigue[4:] = 0.75
    model.step()
    assert model.firms[0].today["reach"] == 9  # every follower saw the post
    assert model.users.follows[:, 0].tolist() == [True] * 4 + [False] * 5


# -- market: a model from a loaded scenario ---------------------------------------------------


def test_from_scenario_builds_the_scenarios_model_and_refuses_anything_else(tmp_path):
    """Mutant of ``MarketModel.from_scenario``: the Scenario check asks for the wrong attribute."""
    import yaml

    import sim
    from sim.model.market import MarketModel

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump({"name": "s", "seed": 5, "width": 6, "height": 6, "steps": 2}))
    model = MarketModel.from_scenario(sim.load_scenario(path))
    assert model._seed == 5 and model.p.width == 6
    with pytest.raises(TypeError, match="takes a Scenario"):
        MarketModel.from_scenario({"width": 6})
