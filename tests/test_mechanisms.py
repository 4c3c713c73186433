"""Each mechanism on its own, against the spec's formula."""

from __future__ import annotations

import math

import numpy as np
import pytest

from sim.model import mechanics as mx
from sim.model.firm import affordable
from sim.model.items import ItemLog
from sim.model.market import MarketModel
from tests.conftest import SMALL, RecordingModel, run


def four_sigma(p: np.ndarray) -> float:
    """Tolerance for a sum of Bernoulli(p) draws: four standard deviations."""
    return 4 * math.sqrt(float(np.sum(p * (1 - p)))) + 1


# -- reactions ---------------------------------------------------------------


def test_reaction_probabilities_follow_the_formula_and_clip():
    appeal = np.array([0.04, 0.6, 3.0, 0.3])
    annoy = np.array([0.3, 0.0, 0.5, 2.0])
    trust = np.array([0.3, 0.9, 0.9, 0.0])
    fatigue = np.array([0.5, 0.1, 0.0, 0.9])
    p_pos, p_neg = mx.reaction_probabilities(appeal, annoy, trust, fatigue)
    assert p_pos == pytest.approx([0.04 * 0.8 * 0.5, 0.6 * 1.4 * 0.9, 1.0, 0.3 * 0.5 * 0.1])
    assert p_neg == pytest.approx([0.15, 0.0, 0.0, min(1 - 0.015, 1.8)])


def test_react_draws_each_outcome_with_its_probability():
    rng = np.random.default_rng(1)
    n = 100000
    positive, negative = mx.react(np.full(n, 0.2), np.full(n, 0.3), rng.random(n))
    assert not np.any(positive & negative)
    assert positive.mean() == pytest.approx(0.2, abs=0.005)
    assert negative.mean() == pytest.approx(0.3, abs=0.005)


def test_model_reactions_match_the_spec_formula_per_kind_and_channel():
    model = run(RecordingModel(seed=2, **{**SMALL, "steps": 60}))
    p = model.p
    appeal_kind = {0: p.appeal_promo, 2: p.appeal_ad, 3: p.appeal_reply}
    annoy_kind = {0: p.annoy_promo, 1: p.annoy_value, 2: p.annoy_ad, 3: 0.0}
    quality = np.array([f.quality for f in model.firms])
    exp_pos, exp_neg, got_pos, got_neg = [], [], 0, 0
    for day in model.days:
        seen, r = day["seen"], day["reactions"]
        trust = day["trust"][seen.user, seen.firm]
        fatigue = day["fatigue"][seen.user, seen.firm]
        appeal = np.array([appeal_kind.get(k, 0.0) for k in seen.kind])
        appeal = np.where(seen.kind == 1, p.appeal_value * quality[seen.firm], appeal)
        annoy = np.array([annoy_kind[k] for k in seen.kind])
        share = seen.channel == 2
        appeal = np.where(share, appeal * p.share_boost, appeal)
        annoy = np.where(share, annoy * p.share_annoy, annoy)
        pp = np.minimum(1, appeal * (0.5 + trust) * (1 - fatigue))
        pn = np.minimum(1 - pp, annoy * fatigue)
        exp_pos.append(pp)
        exp_neg.append(pn)
        got_pos += r.positive.sum()
        got_neg += r.negative.sum()
    exp_pos, exp_neg = np.concatenate(exp_pos), np.concatenate(exp_neg)
    assert exp_neg.sum() > 50 and exp_pos.sum() > 50
    assert abs(got_pos - exp_pos.sum()) < four_sigma(exp_pos)
    assert abs(got_neg - exp_neg.sum()) < four_sigma(exp_neg)


# -- ranking weight ----------------------------------------------------------


def test_candidate_weight_multiplies_type_trust_and_social_proof_terms():
    """w = type_weight * (1 + trust) * (1 + ln(1 + s)), each term checked alone and together.

    Catches: the trust term or the social-proof term dropped or changed
    (ln(s) for ln(1 + s), s for ln(1 + s), trust for 1 + trust).
    """
    e = math.e
    type_weight = np.array([1.0, 2.0, 1.0, 1.0, 4.0, 3.0, 1.0])
    trust = np.array([0.0, 0.0, 0.5, 1.0, 0.25, 0.0, 0.3])
    social = np.array([0, 0, 0, 0, e - 1, e**2 - 1, 3])
    expected = [1.0, 2.0, 1.5, 2.0, 4 * 1.25 * 2, 3 * 3.0, 1.3 * (1 + math.log(4))]
    assert mx.candidate_weight(type_weight, trust, social) == pytest.approx(expected)
    # integer social proof as the feed delivers it: s = 0 adds nothing, s = 1 adds ln 2
    w = mx.candidate_weight(np.ones(3), np.zeros(3), np.array([0, 1, 2], dtype=np.int64))
    assert w == pytest.approx([1.0, 1 + math.log(2), 1 + math.log(3)])


# -- budget ------------------------------------------------------------------


def test_affordable_handles_float_division_and_free_items():
    assert affordable(20.0, 0.01) == 2000
    assert affordable(0.29, 0.1) == 2
    assert affordable(5.0, 0.0) == math.inf


def test_budget_pays_posts_first_then_ads_then_replies():
    firms = [
        {"name": "poster", "preset": "broadcast", "posts_per_day": 40.0, "budget": 3.5, "ads_per_day": 1000},
        {"name": "replier", "preset": "dialogue", "posts_per_day": 2.0, "budget": 2.3, "ads_per_day": 10},
    ]
    model = run(RecordingModel(seed=3, **{**SMALL, "steps": 30}, firms=firms))
    p = model.p
    for day in model.days:
        poster, replier = day["firms"]["poster"], day["firms"]["replier"]
        assert poster["posts"] == 3  # Poisson(40) always exceeds what 3.5 pays
        assert poster["ads_bought"] == 50  # the remaining 0.5 buys 50 ads
        assert poster["spend"] == pytest.approx(3.5)
        left_for_replies = 2.3 - replier["posts"] * p.cost_post - replier["ads_bought"] * p.cost_ad
        assert replier["ads_bought"] == min(10, affordable(2.3 - replier["posts"], p.cost_ad))
        assert replier["replies_sent"] <= affordable(left_for_replies, p.cost_reply)
        assert replier["spend"] <= 2.3 + 1e-9
    assert any(d["firms"]["replier"]["replies_sent"] > 0 for d in model.days)


def test_replies_stop_when_the_budget_runs_out_and_draw_comes_first():
    model = MarketModel(seed=1, width=10, height=10, steps=1)
    firm = model.firms[1]
    firm.reply_rate, firm.delete_critics = 0.5, 0.0
    firm.budget_left = 0.3  # pays exactly three replies
    answered, deleted = firm.answer_comments(np.zeros(100, dtype=bool), np.random.default_rng(0), 0.1)
    assert answered.sum() == 3 and not deleted.any()
    assert firm.budget_left == pytest.approx(0.0)
    firm.budget_left, firm.reply_rate = 10.0, 0.0
    answered, _ = firm.answer_comments(np.zeros(50, dtype=bool), np.random.default_rng(0), 0.1)
    assert not answered.any() and firm.budget_left == 10.0  # no draw succeeded, nothing paid


# -- deleted comments --------------------------------------------------------


def test_unanswered_critics_are_deleted_with_their_probability():
    model = MarketModel(seed=1, width=10, height=10, steps=1)
    firm = model.firms[0]
    firm.reply_rate, firm.delete_critics, firm.budget_left = 0.0, 0.5, 0.0
    negative = np.arange(20000) % 2 == 0
    _, deleted = firm.answer_comments(negative, np.random.default_rng(3), 0.1)
    assert not np.any(deleted & ~negative)
    assert deleted[negative].mean() == pytest.approx(0.5, abs=0.02)


def test_deleting_every_critic_deletes_every_negative_comment_and_hurts_trust():
    firms = [{"name": "censor", "preset": "broadcast", "delete_critics": 1.0, "reply_rate": 0.0}]
    model = run(RecordingModel(seed=5, **{**SMALL, "steps": 40}, firms=firms))
    total = checked = 0
    for day in model.days:
        today = day["firms"]["censor"]
        assert today["deletions"] == today["negative_comments"]
        total += today["deletions"]
        r, seen = day["reactions"], day["seen"]
        # users whose only trust events today were negative (no like, no reply: reply_rate is 0)
        liked = np.zeros(model.n_users, dtype=bool)
        liked[seen.user[r.positive]] = True
        deleted_users = seen.user[r.deleted]
        deleted_users = deleted_users[~liked[deleted_users]]
        before = day["trust"][deleted_users, 0]
        after = day["trust_after"][deleted_users, 0]
        # a deleted comment alone multiplies trust by (1 - trust_deleted), then drift adds a little
        bound = before * (1 - model.p.trust_deleted) + model.p.trust_drift * model.p.trust0 + 1e-12
        assert np.all(after <= bound)
        checked += deleted_users.size
    assert total > 0 and checked > 0


def test_trust_update_applies_events_in_order():
    params = dict(trust_pos=0.03, trust_reply=0.15, trust_neg=0.05, trust_deleted=0.3)
    t = mx.updated_trust(np.array([0.4]), np.array([2]), np.array([1]), np.array([1]), np.array([1]), **params)
    expected = 0.4
    for _ in range(2):
        expected += 0.03 * (1 - expected)
    expected += 0.15 * (1 - expected)
    expected -= 0.05 * expected
    expected -= 0.3 * expected
    assert t[0] == pytest.approx(expected)
    assert mx.drifted_trust(np.array([0.5]), trust0=0.3, trust_drift=0.1)[0] == pytest.approx(0.48)


def test_fatigue_update_follows_the_formula():
    f = mx.updated_fatigue(
        np.array([0.5, 0.5, 0.9]), np.array([5.0, 1.0, 20.0]), np.array([0, 2, 0]),
        fatigue_decay=0.05, fatigue_gain=0.15, tolerance=3.0, reply_relief=0.2,
    )
    assert f == pytest.approx([0.475 + 0.3, max(0.0, 0.475 - 0.4), 1.0])


# -- follow and unfollow -----------------------------------------------------


def test_follow_and_unfollow_probabilities():
    assert mx.follow_probability(np.array([0.3, 5.0]), 0.2) == pytest.approx([0.16, 1.0])
    assert mx.unfollow_probability(np.array([2]), np.array([1]), 0.1, 0.5)[0] == pytest.approx(1 - 0.81 * 0.5)


def test_likers_follow_at_the_spec_rate_and_the_fatigued_leave():
    model = run(RecordingModel(seed=6, **{**SMALL, "steps": 60}))
    expected, followed = [], 0
    for day in model.days:
        seen, r = day["seen"], day["reactions"]
        likes = np.zeros(day["follows"].shape, dtype=bool)
        likes[seen.user[r.positive], seen.firm[r.positive]] = True
        eligible = likes & ~day["follows"]
        expected.append(np.minimum(1, model.p.follow_prob * (0.5 + day["trust_after"][eligible])))
        followed += (day["follows_after"] & eligible).sum()
        # nobody who followed at the start of the day keeps following with fatigue over the threshold
        stayed = day["follows"] & day["follows_after"]
        assert not np.any(stayed & (day["fatigue_after"] > model.p.unfollow_threshold))
        # and only likers become followers
        assert not np.any(day["follows_after"] & ~day["follows"] & ~likes)
    expected = np.concatenate(expected)
    assert expected.size > 100
    assert abs(followed - expected.sum()) < four_sigma(expected)


def test_negative_reactions_to_ads_hide_them_for_non_followers_only():
    model = run(RecordingModel(seed=8, **{**SMALL, "steps": 60}))
    hidden_any = False
    for day in model.days:
        seen, r = day["seen"], day["reactions"]
        newly = day["ads_hidden_after"] & ~day["ads_hidden"]
        neg_ad = np.zeros_like(newly)
        hit = r.negative & (seen.channel == 1)
        neg_ad[seen.user[hit], seen.firm[hit]] = True
        assert np.array_equal(newly, neg_ad & ~day["follows"])
        hidden_any |= newly.any()
        # hidden users are never targeted again
        ads = day["feed"].channel == 1
        assert not np.any(day["ads_hidden"][day["feed"].user[ads], day["feed"].firm[ads]])
    assert hidden_any


# -- shares: lifetime and at-most-once ---------------------------------------


def test_item_log_suppresses_a_second_share():
    log = ItemLog(n_users=10)
    ids = log.add(0, np.array([0, 1], dtype=np.int8), day=1)
    first = log.first_new_shares(np.array([3, 4]), ids)
    again = log.first_new_shares(np.array([3, 5]), ids)
    assert first.tolist() == [True, True] and again.tolist() == [False, True]
    assert log.shares.tolist() == [1, 2]


@pytest.mark.parametrize("lifetime", [1, 3])
def test_shares_travel_only_within_the_post_lifetime_and_once_per_user(lifetime):
    params = {**SMALL, "steps": 40, "post_lifetime": lifetime, "share_prob_promo": 0.3, "share_prob_value": 0.3}
    model = run(RecordingModel(seed=4, **params))
    shared_pairs = set()
    arrived_ages = set()
    for step, day in enumerate(model.days, start=1):
        ages = step - day["item_day"][day["shared_items_arriving"]]
        arrived_ages |= set(ages.tolist())
        assert np.all((ages >= 1) & (ages <= lifetime))
        seen, r = day["seen"], day["reactions"]
        pairs = set(zip(seen.user[r.shared].tolist(), seen.item[r.shared].tolist()))
        assert not pairs & shared_pairs
        shared_pairs |= pairs
    assert arrived_ages == set(range(1, lifetime + 1))
    cascades = model.cascade_table()
    assert cascades["cascade_size"].sum() == len(shared_pairs)


# -- set-up draws and clipping -------------------------------------------------


def test_initial_attention_has_the_requested_arithmetic_mean():
    """round(LogNormal(ln m - s^2/2, s)) has mean m (rounding shifts it by well under 0.1)."""
    att = mx.initial_attention(400000, 30.0, 0.5, np.random.default_rng(0))
    assert np.issubdtype(att.dtype, np.integer) and att.min() >= 1
    assert att.mean() == pytest.approx(30.0, abs=0.1)
    assert np.median(att) == pytest.approx(30.0 * math.exp(-0.125), abs=1.0)  # exp(mu)


def test_fatigue_never_drops_below_zero():
    f = mx.updated_fatigue(np.array([0.1]), np.array([0.0]), np.array([3]),
                           fatigue_decay=0.05, fatigue_gain=0.15, tolerance=3.0, reply_relief=0.2)
    assert f.tolist() == [0.0]


def test_torus_distance_wraps_around():
    """Ring of 10: from 2, cell 9 is 3 away (through 0), cell 7 is 5, cell 4 is 2."""
    assert mx.torus_distance(np.array([2, 3, 1, 9, 7, 4, 12]), 2, 10).tolist() == [0, 1, 1, 3, 5, 2, 0]
