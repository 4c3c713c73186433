"""The wiring of each mechanism inside MarketModel, on tiny worlds, against hand-computed values.

Every test builds a world of 3 x 3 (or 10 x 10, 30 x 30) users where the
chance parts are switched off: attention_sigma 0 and no background pages
(every candidate is seen), probabilities 0 or 1 (reactions, comments,
replies, deletions, follows, unfollows), budgets that pay an exact number
of posts, and ads that reach every eligible user. The expected state after
one or two days is then worked out by hand and written down in each test.

They read only the model's public state: ``model.users`` (follows, trust,
fatigue, ads_hidden), each firm's ``today`` record and the output tables.

Each test names the hand mutation it catches ("Catches: ..."); each was
checked by applying that mutation to sim/model by hand and seeing the test
fail (see docs/testing.md).
"""

from __future__ import annotations

import numpy as np
import pytest

from sim.model.market import MarketModel
from sim.model.outputs import FIRM_COLUMNS, PLATFORM_COLUMNS
from tests.conftest import SMALL, run

# Everything that draws is off; tests switch on exactly what they need.
QUIET = dict(
    width=3, height=3, steps=5, weak_ties=0,
    attention_mean=50.0, attention_sigma=0.0, pages_followed=0.0,
    home_follow_prob=0.0, initial_follow_prob=0.0, follower_trust_bonus=0.0,
    appeal_promo=0.0, appeal_value=0.0, appeal_ad=0.0, appeal_reply=0.0,
    annoy_promo=0.0, annoy_value=0.0, annoy_ad=0.0,
    comment_prob=0.0, neg_comment_prob=0.0,
    share_prob_promo=0.0, share_prob_value=0.0, share_prob_ad=0.0,
    follow_prob=0.0, unfollow_neg_prob=0.0, unfollow_deleted_prob=0.0,
)


def firm(name="f", **fields):
    """A firm that does nothing unless told: no posts, no ads, no budget."""
    spec = dict(posts_per_day=0.0, promo_share=1.0, quality=1.0, ads_per_day=0,
                reply_rate=0.0, delete_critics=0.0, budget=0.0)
    return {"name": name, **spec, **fields}


# One post a day exactly: Poisson(1000) always asks for more than the budget pays.
ONE_POST_A_DAY = dict(posts_per_day=1000.0, budget=1.0)


def tiny(firms, *, seed=0, **params) -> MarketModel:
    return MarketModel(seed=seed, firms=firms, **{**QUIET, **params})


def drift(t, trust0=0.3, rate=0.005):
    """The daily drift towards trust0, written out."""
    return t + rate * (trust0 - t)


# -- comments: answered, deleted (budget-limited ones included) ---------------


@pytest.mark.parametrize("seed", [0, 1])
def test_budget_limited_critics_are_deleted(seed):
    """9 non-followers each hate today's ad and write a critic comment; the firm
    wants to answer all (reply_rate 1), its budget pays 3 replies, and it
    deletes every unanswered critic (delete_critics 1): 3 answered, 6 deleted.

    Catches: budget-limited critics not deleted (deleting only those the
    reply draw skipped gives 0 deletions here).
    """
    f = firm(ads_per_day=9, budget=0.3, reply_rate=1.0, delete_critics=1.0)
    model = tiny([f], seed=seed, cost_ad=0.0, cost_reply=0.1, annoy_ad=10.0, neg_comment_prob=1.0)
    model.users.fatigue[:] = 0.5  # p_neg = min(1, 10 * 0.5) = 1
    model.step()
    today = model.firms[0].today
    assert today["ads_bought"] == 9 and today["paid_reach"] == 9
    assert today["negative_comments"] == 9
    assert today["replies_sent"] == 3 and today["deletions"] == 6
    assert today["spend"] == pytest.approx(0.3)
    assert today["cost_per_reach"] == pytest.approx(0.3 / 9)
    assert today["followers"] == 0 and np.isnan(today["trust_followers"]) and np.isnan(today["fatigue_followers"])
    # trust 0.3: -5 % for the negative reaction, then -30 % for a deleted comment, then drift
    trust = model.users.trust[:, 0]
    deleted = np.isclose(trust, drift(0.3 * 0.95 * 0.7))
    answered = np.isclose(trust, drift(0.3 * 0.95))
    assert deleted.sum() == 6 and answered.sum() == 3
    # a negative reaction to a directly delivered ad hides the firm's ads for good
    assert model.users.ads_hidden.all()
    assert model.users.fatigue == pytest.approx(np.full((9, 1), 0.5 * 0.95))  # load 1 <= tolerance 3
    model.step()  # nobody is left to target
    assert model.firms[0].today["ads_bought"] == 0 and model.firms[0].today["delivered"] == 3  # the 3 replies


def test_unbudgeted_critics_all_deleted_and_none_when_delete_critics_is_zero():
    """With no budget at all every critic is deleted (delete 1) or none is (delete 0).

    Catches: budget-limited critics not deleted.
    """
    for delete, expected in ((1.0, 9), (0.0, 0)):
        f = firm(ads_per_day=9, budget=0.0, reply_rate=1.0, delete_critics=delete)
        model = tiny([f], cost_ad=0.0, annoy_ad=10.0, neg_comment_prob=1.0)
        model.users.fatigue[:] = 0.5
        model.step()
        assert model.firms[0].today["deletions"] == expected
        assert model.firms[0].today["replies_sent"] == 0


# -- follow: decided with the trust already updated today -------------------


def test_follow_uses_the_trust_updated_the_same_day():
    """100 non-followers with trust 0 like an ad (appeal 10). trust_pos 1 lifts
    trust to 1 the same day, so min(1, follow_prob (0.5 + 1)) = 1 with
    follow_prob 1: all 100 follow. With the start-of-day trust 0 the chance
    would be 0.5 and all 100 following has probability 2**-100.

    Catches: follow decided with start-of-day trust.
    """
    f = firm(ads_per_day=100, budget=0.0)
    model = tiny([f], width=10, height=10, cost_ad=0.0, appeal_ad=10.0, trust0=0.0,
                 trust_pos=1.0, trust_drift=0.0, follow_prob=1.0)
    model.users.trust[:] = 0.0
    model.step()
    today = model.firms[0].today
    assert today["likes"] == 100
    assert model.users.trust == pytest.approx(np.ones((100, 1)))
    assert today["new_follows"] == 100 and today["followers"] == 100
    assert model.users.follows.all()
    assert today["trust_followers"] == pytest.approx(1.0)


def test_follow_probability_scales_with_trust():
    """Same world, trust_pos 0: trust stays 0, so each liker follows with
    follow_prob (0.5 + 0) = 0.5: between 20 and 80 of 100 (a 6-sigma band);
    with follow_prob 0 nobody follows.
    """
    f = firm(ads_per_day=100, budget=0.0)
    params = dict(width=10, height=10, cost_ad=0.0, appeal_ad=10.0, trust0=0.0, trust_pos=0.0, trust_drift=0.0)
    model = tiny([f], seed=3, follow_prob=1.0, **params)
    model.users.trust[:] = 0.0
    model.step()
    assert 20 <= model.firms[0].today["new_follows"] <= 80
    model = tiny([f], seed=3, follow_prob=0.0, **params)
    model.step()
    assert model.firms[0].today["likes"] == 100 and model.firms[0].today["new_follows"] == 0


# -- replies: trust_reply and reply relief -----------------------------------


def test_replies_arrive_next_day_raise_trust_and_relieve_critics_only():
    """Day 1: users 0-3 (fatigue 0.05) like today's ad and comment, users 4-8
    (fatigue 1) hate it and write a critic comment; the firm answers all 9.
    Day 2: the 9 replies arrive (no ads: likers now follow, critics hid ads)
    and are seen; nobody reacts to them (appeal_reply 0).

    Hand computation, fatigue decay 0.05, load 1 per ad (below tolerance 3):
      likers:  fatigue 0.05 -> 0.0475 -> 0.045125 (no relief: not a critic)
               trust 0.3 -> 1 (trust_pos 1) -> drift -> + trust_reply -> drift
      critics: fatigue 1 -> 0.95 -> 0.95 * 0.95 - reply_relief 0.2 = 0.7025
               trust 0.3 -> 0.3 * 0.95 -> drift -> + 0.15 (1 - t) -> drift

    Catches: reply relief removed; trust_reply not applied in the model.
    """
    f = firm(ads_per_day=9, budget=10.0, reply_rate=1.0)
    model = tiny([f], cost_ad=0.0, cost_reply=0.1, appeal_ad=10.0, annoy_ad=10.0,
                 comment_prob=1.0, neg_comment_prob=1.0, trust_pos=1.0, follow_prob=1.0)
    likers, critics = np.arange(4), np.arange(4, 9)
    model.users.fatigue[likers] = 0.05
    model.users.fatigue[critics] = 1.0
    model.step()
    day1 = dict(model.firms[0].today)
    assert (day1["likes"], day1["comments"], day1["negative_comments"]) == (4, 4, 5)
    assert day1["replies_sent"] == 9 and day1["spend"] == pytest.approx(0.9)
    assert day1["new_follows"] == 4 and model.users.follows[likers].all()
    assert model.users.ads_hidden[critics].all() and not model.users.ads_hidden[likers].any()

    t1_liker, t1_critic = drift(1.0), drift(0.3 * 0.95)
    assert model.users.trust[likers, 0] == pytest.approx(t1_liker)
    assert model.users.trust[critics, 0] == pytest.approx(t1_critic)

    model.step()
    day2 = model.firms[0].today
    assert day2["ads_bought"] == 0 and day2["delivered"] == 9
    assert day2["reply_reach"] == 9 and day2["reach"] == 9 and day2["organic_reach"] == 0
    assert day2["likes"] == 0 and day2["replies_sent"] == 0
    assert model.users.fatigue[likers, 0] == pytest.approx(0.05 * 0.95 * 0.95)
    assert model.users.fatigue[critics, 0] == pytest.approx(0.95 * 0.95 - 0.2)
    assert model.users.trust[likers, 0] == pytest.approx(drift(1 - (1 - t1_liker) * 0.85))
    assert model.users.trust[critics, 0] == pytest.approx(drift(1 - (1 - t1_critic) * 0.85))
    assert day2["followers"] == 4 and day2["unfollows"] == 0
    assert day2["fatigue_followers"] == pytest.approx(0.05 * 0.95 * 0.95)


def test_a_reply_to_a_positive_comment_can_be_liked_and_answered_again():
    """A liked reply with a comment is itself answered: the dialogue goes on.

    Day 1 one follower likes the post and comments; day 2 the reply arrives
    (appeal_reply 10), is liked and commented, and is answered again.
    """
    f = firm(**ONE_POST_A_DAY, reply_rate=1.0)
    model = tiny([f], cost_reply=0.0, appeal_promo=10.0, appeal_reply=10.0, comment_prob=1.0)
    model.users.follows[0, 0] = True
    model.step()
    assert model.firms[0].today["comments"] == 1 and model.firms[0].today["replies_sent"] == 1
    model.step()
    today = model.firms[0].today
    assert today["reply_reach"] == 1 and today["impressions"] == 2  # the new post and the reply
    assert today["likes"] == 2 and today["comments"] == 2 and today["replies_sent"] == 2


def test_comment_and_share_draws_are_per_item():
    """100 users get an ad: the 50 with fatigue 0.05 like it, the 50 with
    fatigue 1 hate it. comment_prob, neg_comment_prob and share_prob_ad 0.5:
    each count is Binomial(50, 0.5), 25 +- 14 (4 sigma) -- never all or none.

    Catches: one draw shared by all items (comments or shares all-or-nothing).
    """
    f = firm(ads_per_day=100, budget=0.0)
    model = tiny([f], seed=2, width=10, height=10, cost_ad=0.0, appeal_ad=10.0, annoy_ad=10.0,
                 comment_prob=0.5, neg_comment_prob=0.5, share_prob_ad=0.5)
    model.users.fatigue[0::2] = 0.05
    model.users.fatigue[1::2] = 1.0
    model.step()
    today = model.firms[0].today
    assert today["likes"] == 50
    for column in ("comments", "negative_comments", "shares"):
        assert abs(today[column] - 25) <= 14, column


def test_a_seen_ad_loads_one_unit_and_a_reply_none():
    """9 users see an ad and ignore it; gain 1 above tolerance 0.5: fatigue 0.5.

    Day 2 the ad is seen again after a day's decay: 0.5 * 0.95 + 0.5.
    """
    model = tiny([firm(ads_per_day=9)], cost_ad=0.0, fatigue_gain=1.0, tolerance=0.5,
                  unfollow_threshold=1.0)
    model.step()
    assert model.users.fatigue[:, 0] == pytest.approx(np.full(9, 0.5))
    model.step()
    assert model.users.fatigue[:, 0] == pytest.approx(np.full(9, 0.5 * 0.95 + 0.5))


# -- load: shares, value posts ------------------------------------------------


@pytest.mark.parametrize("kind", ["promo", "value"])
def test_seen_shares_load_fatigue_with_load_share(kind):
    """User 0 follows and gets one post a day; it likes and shares it
    (appeal 10, share chance 1). Day 2 the other 8 users (all its contacts on
    a 3 x 3 torus) see the share (s = 1) and like it.

    Fatigue, gain 1 above tolerance 0.25, decay 0.05:
      user 0, day 1: load 1 (promo) or load_value 0.3 (value)
      users 1-8, day 2: load_share 0.5, whatever the shared post's kind: 0.25

    Catches: load_share set to 0 (users 1-8 stay at fatigue 0).
    """
    f = firm(**ONE_POST_A_DAY, promo_share=1.0 if kind == "promo" else 0.0)
    model = tiny([f], appeal_promo=10.0, appeal_value=10.0, share_prob_promo=1.0,
                 share_prob_value=1.0, fatigue_gain=1.0, tolerance=0.25, unfollow_threshold=1.0)
    model.users.follows[0, 0] = True
    model.step()
    day1 = dict(model.firms[0].today)
    assert day1["shares"] == 1 and day1["organic_reach"] == 1
    load0 = 1.0 if kind == "promo" else 0.3
    assert model.users.fatigue[0, 0] == pytest.approx(load0 - 0.25)
    assert model.users.fatigue[1:, 0] == pytest.approx(np.zeros(8))
    model.step()
    day2 = model.firms[0].today
    assert day2["earned_reach"] == 8 and day2["delivered"] == 9  # 8 shares and the new post
    assert day2["shares"] == 9  # the 8 readers pass it on, user 0 shares the new post
    assert model.users.fatigue[1:, 0] == pytest.approx(np.full(8, 0.5 - 0.25))
    assert model.users.fatigue[0, 0] == pytest.approx(min(1.0, (load0 - 0.25) * 0.95 + load0 - 0.25))  # clipped
    # a like of a share raises trust like any other like
    assert model.users.trust[1:, 0] == pytest.approx(np.full(8, drift(1 - 0.7 * 0.97)))


def test_shares_merge_per_item_with_social_proof_and_travel_once():
    """Users 0 and 1 follow and share the day's post. Day 2 every other user
    gets ONE share candidate (s = 2), users 0 and 1 get each other's share:
    9 share deliveries. An item reaches users who already shared it, but
    nobody shares it twice, so on day 3 the 7 day-2 sharers' shares of the
    day-1 post reach only users 0 and 1 ... who shared it already.
    """
    f = firm(**ONE_POST_A_DAY)
    model = tiny([f], appeal_promo=10.0, share_prob_promo=1.0, unfollow_threshold=1.0)
    model.users.follows[[0, 1], 0] = True
    model.step()
    assert model.firms[0].today["shares"] == 2
    model.step()
    day2 = model.firms[0].today
    assert day2["delivered"] == 2 + 9 and day2["earned_reach"] == 9
    assert day2["shares"] == 7 + 2  # 7 new sharers of post 1; users 0, 1 share post 2
    cascade_columns = ["item", "firm", "kind", "is_ad", "day", "cascade_size"]
    cascades = model.cascade_table()
    assert list(cascades.columns[:6]) == cascade_columns  # validation's exposure counters follow
    assert cascades[cascade_columns].to_dict("list") == {
        "item": [0, 1], "firm": ["f", "f"], "kind": ["promo", "promo"],
        "is_ad": [False, False], "day": [1, 2], "cascade_size": [9, 2],
    }


# -- unfollow: threshold and per-event draws ----------------------------------


@pytest.mark.parametrize(
    "neg_prob, deleted_prob, delete_critics, leave",
    [
        (1.0, 0.0, 0.0, True),  # one negative reaction, unfollow_neg_prob 1
        (0.0, 1.0, 1.0, True),  # one deleted comment, unfollow_deleted_prob 1
        (0.0, 1.0, 0.0, False),  # nothing deleted: the deleted-comment draw never happens
        (0.0, 0.0, 1.0, False),  # deleted, but both chances 0
    ],
)
def test_followers_unfollow_per_negative_event(neg_prob, deleted_prob, delete_critics, leave):
    """All 9 users follow; each hates today's post (fatigue 0.5, annoy 10) and
    writes a critic comment. Fatigue ends at 0.475, below the threshold 0.7,
    so only the per-event draws can make them leave.

    Catches: per-event unfollows removed.
    """
    f = firm(**ONE_POST_A_DAY, delete_critics=delete_critics)
    model = tiny([f], annoy_promo=10.0, neg_comment_prob=1.0,
                 unfollow_neg_prob=neg_prob, unfollow_deleted_prob=deleted_prob)
    model.users.follows[:] = True
    model.users.fatigue[:] = 0.5
    model.step()
    today = model.firms[0].today
    assert today["negative_comments"] == 9
    assert today["deletions"] == (9 if delete_critics else 0)
    assert model.users.fatigue == pytest.approx(np.full((9, 1), 0.475))
    assert today["unfollows"] == (9 if leave else 0)
    assert today["followers"] == (0 if leave else 9)
    assert not model.users.ads_hidden.any()  # a post, not an ad: nothing hidden


def test_followers_over_the_fatigue_threshold_leave():
    """Fatigue 0.8 decays to 0.76 > 0.7: all followers leave, with no event at all."""
    model = tiny([firm(**ONE_POST_A_DAY)])
    model.users.follows[:] = True
    model.users.fatigue[:5] = 0.8
    model.users.fatigue[5:] = 0.7  # 0.665 after decay: stays
    model.step()
    assert model.firms[0].today["unfollows"] == 5
    assert model.users.follows[:, 0].tolist() == [False] * 5 + [True] * 4


# -- reach, cumulative reach and the second-contact rate ----------------------


def test_second_contact_rate_counts_users_reached_on_two_days():
    """Users 0-2 follow and see one post a day; users 3-8 get an ad on day 1.
    Users 3-6 (fatigue 1) hate it and hide the firm's ads, 7-8 stay neutral
    and get an ad every day. Reached: day 1 all 9, days 2 and 3 users 0-2, 7, 8.
    Second-contact rate (of users ever reached, those reached on >= 2 days):
    0/9, 5/9, 5/9.

    Catches: the second-contact rate redefined (e.g. as the share of today's
    reach seen before, 5/5, or counting a user again on every later day).
    """
    f = firm(posts_per_day=1000.0, budget=1.0, ads_per_day=100)
    model = tiny([f], cost_ad=0.0, annoy_ad=10.0)
    model.users.follows[:3] = True
    model.users.fatigue[3:7] = 1.0
    rows = []
    for _ in range(3):
        model.step()
        rows.append(dict(model.firms[0].today))
    assert [r["reach"] for r in rows] == [9, 5, 5]
    assert [r["organic_reach"] for r in rows] == [3, 3, 3]
    assert [r["paid_reach"] for r in rows] == [6, 2, 2]
    assert [r["cumulative_reach"] for r in rows] == [9, 9, 9]
    assert [r["second_contact_rate"] for r in rows] == pytest.approx([0.0, 5 / 9, 5 / 9])
    assert [r["ads_bought"] for r in rows] == [6, 2, 2]
    assert [r["attention_loss"] for r in rows] == [0.0, 0.0, 0.0]
    assert model.users.ads_hidden[:, 0].tolist() == [False] * 3 + [True] * 4 + [False] * 2
    table = model.firm_table()
    assert list(table.columns) == list(FIRM_COLUMNS) and table["step"].tolist() == [1, 2, 3]
    assert table["second_contact_rate"].tolist() == pytest.approx([0.0, 5 / 9, 5 / 9])
    platform = model.platform_table()
    assert list(platform.columns) == ["step", *PLATFORM_COLUMNS]
    assert platform["step"].tolist() == [1, 2, 3] and platform.index.tolist() == [0, 1, 2]
    assert platform["candidates"].tolist() == [9, 5, 5]
    assert platform["seen_candidates"].tolist() == [9, 5, 5]
    assert platform["background_items"].tolist() == [0, 0, 0]
    assert platform["attention_used"].tolist() == [9, 5, 5]
    assert platform["overload"].tolist() == pytest.approx([9 / 450, 5 / 450, 5 / 450])
    assert platform["overloaded_share"].tolist() == [0.0, 0.0, 0.0]
    cascades = model.cascade_table()  # a post and an ad creative a day, none shared
    assert cascades["firm"].tolist() == ["f"] * 6 and cascades["day"].tolist() == [1, 1, 2, 2, 3, 3]
    assert cascades["kind"].tolist() == ["promo", "ad"] * 3
    assert cascades["is_ad"].tolist() == [False, True] * 3 and cascades["cascade_size"].sum() == 0
    assert platform["attention_capacity"].tolist() == [450] * 3
    assert platform["attention_used_share"].tolist() == pytest.approx([9 / 450, 5 / 450, 5 / 450])


# -- ranking: type weight and trust decide who wins the last slot -------------


RANKING_CASES = {
    # each user trusts one firm fully (1) and the other not at all (0): w = 2 against 1
    "trust": ([firm("a", **ONE_POST_A_DAY), firm("b", **ONE_POST_A_DAY)], {}, 2 / 3),
    # a promo post (weight 3) against a value post (weight 1), equal trust
    "type_weight": (
        [firm("a", **ONE_POST_A_DAY), firm("b", **ONE_POST_A_DAY, promo_share=0.0)],
        {"weight_promo": 3.0}, 3 / 4,
    ),
    # an ad (weight_ad 3) to a non-follower against a followed firm's post (weight 1)
    "ad_weight": (
        [firm("a", ads_per_day=900), firm("b", **ONE_POST_A_DAY)],
        {"weight_ad": 3.0}, 3 / 4,
    ),
}


@pytest.mark.parametrize("case", list(RANKING_CASES))
def test_engagement_ranking_sees_items_in_proportion_to_their_weight(case):
    """With one slot and keys U**(1/w), item a beats item b with probability
    w_a / (w_a + w_b). 900 users x 3 days: a 4-sigma band is about +-0.035,
    and chronological ranking (all w = 1) gives 1/2 in every case. In the
    trust case even users trust firm a, odd users firm b, so the trusted
    firm must be looked up per user and firm (read from days_reached).

    Catches: the trust term or a type weight dropped from the model's
    weight, or trust read for the wrong user or firm.
    """
    firms, params, expected = RANKING_CASES[case]
    n = 900 * 3
    band = 4 * np.sqrt(expected * (1 - expected) / n)
    engaged, platform = _favoured_share(firms, case, "engagement", params)
    assert abs(engaged - expected) < band
    chrono, _ = _favoured_share(firms, case, "chronological", params)
    assert abs(chrono - 0.5) < 4 * np.sqrt(0.25 / n)
    # every user was offered 2 items for 1 slot
    assert platform["candidates"].tolist() == [1800] * 3
    assert platform["seen_candidates"].tolist() == [900] * 3
    assert platform["attention_used_share"].tolist() == pytest.approx([1.0] * 3)
    assert platform["overload"].tolist() == pytest.approx([2.0] * 3)
    assert platform["overloaded_share"].tolist() == pytest.approx([1.0] * 3)


def _favoured_share(firms, case, ranking, params, days=3):
    """Both firms reach every user daily; attention 1, no background: one item is seen.

    Returns the share of user-days on which the favoured firm's item was the
    one seen (firm a, or in the trust case the firm the user trusts), and
    the platform table.
    """
    model = tiny(firms, width=30, height=30, steps=days, attention_mean=1.0, trust_drift=0.0,
                 cost_ad=0.0, ranking=ranking, **params)
    model.users.follows[:, 1] = True
    model.users.follows[:, 0] = case != "ad_weight"
    favoured = np.zeros((900, 2), dtype=bool)
    favoured[:, 0] = True
    if case == "trust":
        favoured[1::2] = [False, True]
        model.users.trust[:] = favoured
    else:
        model.users.trust[:] = 0.0
    run(model)
    seen_days = model.users.days_reached  # 1 slot a day: exactly one firm seen per user and day
    assert np.array_equal(seen_days.sum(axis=1), np.full(900, days))
    assert model.firm_table()["impressions"].sum() == 900 * days
    return seen_days[favoured].sum() / (900 * days), model.platform_table()


def test_social_proof_raises_a_shares_rank_in_the_model():
    """Day 1 the users of every third column (x % 3 == 0, 300 of 900) follow
    firm a and share its post. Day 2 attention drops to 1 slot: each other
    user gets one merged share candidate with s = 3 (three sharers in its
    Moore block) against firm b's post; each sharer gets the share (s = 2)
    against a's new post and b's post. With trust 0 and unit type weights:
      P(non-sharer sees the share) = (1 + ln 4) / (2 + ln 4) = 0.7047
      P(sharer sees the share)     = (1 + ln 3) / (3 + ln 3) = 0.5120
    expected earned reach 576.4, sd 14.1; without the social-proof term 400.

    Catches: social proof dropped from (or changed in) the model's weight.
    """
    fa = firm("a", **ONE_POST_A_DAY)
    fb = firm("b", **ONE_POST_A_DAY, promo_share=0.0)
    model = tiny([fa, fb], seed=5, width=30, height=30, weight_share=1.0, appeal_promo=10.0,
                 share_prob_promo=1.0, trust0=0.0, trust_pos=0.0, trust_drift=0.0)
    x = np.arange(900) // 30
    sharers = x % 3 == 0
    model.users.follows[:, 0] = sharers
    model.users.follows[:, 1] = True
    model.users.trust[:] = 0.0
    model.step()
    assert model.firms[0].today["shares"] == 300
    model.users.attention[:] = 1
    model.step()
    a = model.firms[0].today
    assert a["delivered"] == 300 + 900  # a's posts, and one merged share per reader
    p_reader, p_sharer = (1 + np.log(4)) / (2 + np.log(4)), (1 + np.log(3)) / (3 + np.log(3))
    mean = 600 * p_reader + 300 * p_sharer
    sd = np.sqrt(600 * p_reader * (1 - p_reader) + 300 * p_sharer * (1 - p_sharer))
    assert abs(a["earned_reach"] - mean) < 4 * sd


# -- followers: an independent count ------------------------------------------


def test_followers_equal_the_start_plus_new_follows_minus_unfollows():
    """Reported followers, day by day, against an independent ledger: the
    set-up's follows plus each day's reported new follows minus unfollows
    (events counted separately from the follows array).
    """
    model = MarketModel(seed=11, **{**SMALL, "steps": 40, "unfollow_neg_prob": 0.3})
    ledger = model.users.follows.sum(axis=0).astype(int)
    assert ledger.min() > 0
    changes = 0
    for _ in range(40):
        model.step()
        for f in model.firms:
            ledger[f.index] += f.today["new_follows"] - f.today["unfollows"]
            changes += f.today["new_follows"] + f.today["unfollows"]
            assert f.today["followers"] == ledger[f.index]
    assert changes > 20  # the ledger really moved
    assert model.firm_table().groupby("firm")["followers"].last().tolist() == ledger.tolist()


# -- the viewer's grid mirrors the state --------------------------------------


def test_grid_layers_mirror_user_state():
    """The Mesa PropertyLayers the viewer draws equal the state arrays (x * height + y order)."""
    model = tiny([firm("a", **ONE_POST_A_DAY), firm("b", **ONE_POST_A_DAY)], width=4, height=3,
                 appeal_promo=10.0, follow_prob=1.0)
    model.users.follows[[0, 5], 0] = True
    model.users.follows[[5, 7], 1] = True
    model.users.fatigue[:, 1] = np.linspace(0, 0.5, 12)
    model.step()
    grid = model.grid
    assert grid.torus and grid.dimensions == (4, 3)
    shape = (4, 3)
    assert np.array_equal(grid.followed_firms.data, np.array(
        [1 * model.users.follows[i, 0] + 2 * model.users.follows[i, 1] for i in range(12)]).reshape(shape))
    assert grid.followed_firms.data[1, 2] == 3  # user 5 = (1, 2) follows both
    for k, name in enumerate("ab"):
        assert np.array_equal(getattr(grid, f"follows_{name}").data, model.users.follows[:, k].reshape(shape))
        assert np.array_equal(getattr(grid, f"trust_{name}").data, model.users.trust[:, k].reshape(shape))
        assert np.array_equal(getattr(grid, f"fatigue_{name}").data, model.users.fatigue[:, k].reshape(shape))
    reached_a = np.zeros(12, dtype=bool)
    reached_a[[0, 5]] = True
    assert np.array_equal(grid.reached_a.data, reached_a.reshape(shape))
    # per-firm means over each firm's own followers (two firms, so a pooled mean would differ)
    for k, f in enumerate(model.firms):
        mine = model.users.follows[:, k]
        assert f.today["followers"] == mine.sum() == 2
        assert f.today["trust_mean"] == pytest.approx(model.users.trust[:, k].mean())
        assert f.today["trust_followers"] == pytest.approx(model.users.trust[mine, k].mean())
        assert f.today["fatigue_followers"] == pytest.approx(model.users.fatigue[mine, k].mean())
    assert model.firms[1].today["fatigue_followers"] == pytest.approx((5 / 11 * 0.5 + 7 / 11 * 0.5) * 0.95 / 2)


def test_fatigue_exactly_at_the_threshold_keeps_a_follower():
    """Unfollow needs fatigue strictly above unfollow_threshold (decay 0: 0.7 stays 0.7)."""
    model = tiny([firm()], fatigue_decay=0.0, unfollow_threshold=0.7)
    model.users.follows[:] = True
    model.users.fatigue[:4] = 0.7
    model.users.fatigue[4:] = 0.75
    model.step()
    assert model.users.fatigue[:4, 0] == pytest.approx([0.7] * 4)
    assert model.users.follows[:, 0].tolist() == [True] * 4 + [False] * 5
    today = model.firms[0].today
    assert today["unfollows"] == 5 and today["reach"] == 0
    # a firm nobody ever saw: no second contacts, no cost per reach
    assert today["cumulative_reach"] == 0 and today["second_contact_rate"] == 0.0
    assert np.isnan(today["cost_per_reach"]) and today["attention_loss"] == 0.0
