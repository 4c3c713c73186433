"""MARKET_SPEC.md, "Checks any implementation must pass", as tests (the first, pages 0, is test_part1_identity.py).

Each check names a mechanism and fails when it is broken; how each was
broken to see it fail is said in its docstring.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from sim.model.market import MarketModel
from sim.model.market_day import FOLLOW_DISCOVERY, FOLLOW_REACTION, USER_COUNTS

MARKET = dict(width=20, height=20, steps=12, market={"pages": 150})
PAGE_ITEMS_SEEN, FRIENDS, FRIENDS_SEEN, FIRM_SEEN = (USER_COUNTS.index(c) for c in (
    "page_items_seen", "friend_posts", "friend_posts_seen", "firm_items_seen"))  # fmt: skip


def test_no_user_sees_more_items_a_day_than_its_attention_budget():
    """Broken by letting the merge take one item past the budget (`taken <= budget`): fails."""
    model = MarketModel(seed=3, **{**MARKET, "attention_mean": 8.0})
    for _ in range(MARKET["steps"]):
        model.step()
        u = model.market.user_counts
        read = u[:, PAGE_ITEMS_SEEN] + u[:, FRIENDS_SEEN] + u[:, FIRM_SEEN]
        assert (read <= model.users.attention).all()
        assert (read == np.minimum(model.users.attention, u[:, 0] + u[:, 1] + u[:, 4])).all()  # and it is used


def _firm_as_page(seed: int) -> tuple[list[float], list[float]]:
    """Per-post organic reach shares of a firm and of a background page with the same parameters and followers."""
    firm = dict(name="page_like", posts_per_day=2.0, promo_share=0.5, quality=0.5, ads_per_day=0, reply_rate=0.0,
                delete_critics=0.0, budget=1000.0)  # fmt: skip
    model = MarketModel(seed=seed, width=30, height=30, steps=8, firms=[firm], fatigue_gain=0.0,
                        market={"pages": 200, "discover_rate": 0.0})  # fmt: skip
    market = model.market
    b = int(np.argmax(market.followers))  # the most followed page, and its followers become the firm's
    market.pages.post_rate[b], market.pages.promo_share[b], market.pages.quality[b] = 2.0, 0.5, 0.5
    follows = np.zeros(model.n_users, bool)
    for i in range(model.n_users):
        follows[i] = b in market.edges.row(i)
    model.users.follows[:, 0] = follows
    model.users.trust[:, 0] = np.where(follows, market.trust_start, model.p.trust0)
    while model.running:
        model.step()
    items = model.cascade_table()
    posts = items[(items["kind"] != "ad") & (items["audience"] > 0)]
    share = posts["direct_seen"] / posts["audience"]
    return share[posts["firm"] == "page_like"].tolist(), share[posts["firm"] == f"page_{b}"].tolist()


def test_a_firm_is_a_page():
    """A firm and a background page with the same posting parameters, followers and trust reach the same share.

    Broken by giving background items twice their weight in the ranking: the page's share rises and this fails.
    """
    firm, page = [], []
    for seed in range(4):
        f, p = _firm_as_page(seed)
        firm += f
        page += p
    assert len(firm) > 40 and len(page) > 40
    difference = np.mean(firm) - np.mean(page)
    se = np.sqrt(np.var(firm, ddof=1) / len(firm) + np.var(page, ddof=1) / len(page))
    assert abs(difference) < 3.5 * se + 0.01, (np.mean(firm), np.mean(page), se)


def test_with_source_diversity_near_zero_a_second_item_of_a_page_is_seen_only_after_everything_else():
    """A user sees a second item of one page only if it read every page's first item and every friend's post.

    Broken by leaving the diversity factor out of the key (weights unchanged): second items are then read
    before firsts and this fails.
    """
    model = MarketModel(seed=5, width=15, height=15, steps=6, source_diversity=1e-12, attention_mean=40.0,
                        market={"pages": 60, "post_rate_sigma": 1.5})  # fmt: skip
    model.market.trace_candidates = True
    checked = 0
    for _ in range(model.p.steps):
        model.step()
        trace = model.market.trace  # user, page, channel, rank k - 1, seen
        u = model.market.user_counts
        for user in np.unique(trace[:, 0]):
            mine = trace[trace[:, 0] == user]
            seconds_seen = (mine[:, 3] > 0) & (mine[:, 4] == 1)
            if seconds_seen.any():
                checked += 1
                firsts = mine[mine[:, 3] == 0]
                assert firsts[:, 4].all(), "a second item was seen while a first item was not"
                assert u[user, FRIENDS_SEEN] == u[user, FRIENDS], "a second item was seen before a friend's post"
    assert checked > 20


def test_discovery_alone_gives_each_page_nonfollowers_times_rate_times_its_share_of_attractiveness():
    """Expected new followers of page b a day: non-followers x discover_rate x a_b / sum(a) (appeals 0).

    Broken by drawing discovered pages uniformly instead of by attractiveness: fails.
    """
    zero = dict(appeal_promo=0.0, appeal_value=0.0, appeal_ad=0.0, appeal_reply=0.0, fatigue_gain=0.0)
    model = MarketModel(seed=11, width=30, height=30, steps=25, pages_followed=5.0, **zero,
                        market={"pages": 40, "discover_rate": 0.3, "popularity_alpha": 1.5})  # fmt: skip
    market = model.market
    share = market.pages.attractiveness / market.pages.attractiveness.sum()
    expected = np.zeros(market.pages.size)
    observed = np.zeros(market.pages.size)
    for _ in range(model.p.steps):
        expected += (model.n_users - market.followers) * 0.3 * share
        model.step()
        observed += market.counts[len(model.firms):, FOLLOW_DISCOVERY]
        assert market.counts[len(model.firms):, FOLLOW_REACTION].sum() == 0
    chi2 = ((observed - expected) ** 2 / expected).sum()
    assert stats.chi2.sf(chi2, df=len(expected)) > 1e-3, (chi2, observed[:5], expected[:5])
    assert abs(observed.sum() - expected.sum()) < 4 * np.sqrt(expected.sum())


def test_followers_counted_from_the_edges_equal_the_page_table_every_day():
    """Broken by not counting a follow from discovery in the followers array: fails."""
    model = MarketModel(seed=2, **{**MARKET, "steps": 15, "annoy_base": 0.2, "fatigue_gain": 0.4, "tolerance": 0.5})
    f = len(model.firms)
    for _ in range(model.p.steps):
        model.step()
        from_edges = model.market.followers_from_edges()
        assert (from_edges == model.market.followers).all()
        assert (model.market.recorder.last[f:, 1] == from_edges).all()
        assert (model.market.recorder.last[:f, 1] == model.users.follows.sum(axis=0)).all()
    table = model.page_table()
    assert (table["followers_end"].to_numpy()[f:] == model.market.followers_from_edges()).all()
    assert table["unfollows_fatigue"].sum() > 0 and table["follows_discovery"].sum() > 0  # edges did change


@pytest.mark.parametrize("seed", [1, 2])
def test_edges_stay_distinct_and_within_their_rows_after_a_run(seed):
    """Follows, unfollows and grown rows keep every user's pages distinct (the CSR layout's invariant)."""
    model = MarketModel(seed=seed, width=12, height=12, steps=40, pages_followed=12.0,
                        market={"pages": 30, "discover_rate": 0.5})  # fmt: skip
    while model.running:
        model.step()
    edges = model.market.edges
    for i in range(model.n_users):
        row = edges.row(i)
        assert len(set(row.tolist())) == row.size and (row >= 0).all() and (row < 30).all()
    assert (edges.length <= edges.capacity).all()
    assert (np.diff(edges.start) == edges.capacity).all()


def test_users_following_and_unfollowing_any_page_are_counted_from_the_state():
    """The platform's users_following and users_unfollowed_51d (the unfollow figure over all pages)."""
    model = MarketModel(seed=8, width=15, height=15, steps=70, annoy_base=0.2, market={"pages": 40})
    unfollowed_on = {}
    while model.running:
        before = [set(model.market.edges.row(i).tolist()) for i in range(model.n_users)]
        firms_before = model.users.follows.copy()
        model.step()
        for i in range(model.n_users):
            after = set(model.market.edges.row(i).tolist())
            if (before[i] - after) or (firms_before[i] & ~model.users.follows[i]).any():
                unfollowed_on.setdefault(i, []).append(model.steps)
        row = model.platform_today
        following = model.users.follows.any(axis=1) | (model.market.edges.length > 0)
        assert row["users_following"] == following.sum()
        recent = sum(1 for days in unfollowed_on.values() if days[-1] > model.steps - 51)
        assert row["users_unfollowed_51d"] == recent
    assert 0 < row["users_unfollowed_51d"] < model.n_users


def test_the_firms_new_daily_outputs_match_the_state():
    """Unfollows by cause add up; newly hidden ads are the rise of hidden ads; commenters' trust change recomputed."""
    from tests.conftest import RecordingModel

    firms = [{"name": "broadcast", "preset": "broadcast", "ads_per_day": 200},
             {"name": "dialogue", "preset": "dialogue", "reply_rate": 0.5, "delete_critics": 0.5}]  # fmt: skip
    model = RecordingModel(seed=3, width=20, height=20, steps=25, firms=firms, annoy_base=0.1, fatigue_gain=0.3)
    while model.running:
        model.step()
    table = model.firm_table()
    causes = table[["unfollows_fatigue", "unfollows_negative", "unfollows_deleted"]].sum(axis=1)
    assert (causes == table["unfollows"]).all() and table["unfollows_deleted"].sum() > 0
    for d, day in enumerate(model.days):
        row = table[table["step"] == d + 1].set_index("firm")
        hidden = day["ads_hidden_after"].sum(axis=0) - day["ads_hidden"].sum(axis=0)
        assert row["ads_hidden_new"].tolist() == hidden.tolist()
        if d == 0:
            assert row["commenter_trust_change_answered"].isna().all()
            continue
        before, r = model.days[d - 1], model.days[d - 1]["reactions"]
        talked = r.comment | r.critic
        pairs, answered = r.pair[talked], r.answered[talked]
        for k, firm in enumerate(("broadcast", "dialogue")):
            for column, want in (("commenter_trust_change_answered", True), ("commenter_trust_change_unanswered", False)):
                mine = {p for p in pairs[pairs % 2 == k].tolist()}
                picked = [p for p in mine if answered[pairs == p].any() == want]
                got = row.loc[firm, column]
                if not picked:
                    assert np.isnan(got)
                    continue
                change = [day["trust_after"].reshape(-1)[p] - before["trust"].reshape(-1)[p] for p in picked]
                assert got == pytest.approx(np.mean(change))


def test_part_1_keeps_its_following_and_unfollowing_counts_right_without_a_pass_over_users():
    """Part 1 updates users_following and users_unfollowed_51d from the day's changes; a full recount agrees."""
    from sim.model import kernels

    model = MarketModel(seed=2, width=20, height=20, steps=120, annoy_base=0.2, fatigue_gain=0.3)
    while model.running:
        model.step()
        recount = kernels.follow_totals(model.users.follows, np.zeros(0, np.int32), model.last_unfollow,
                                        model.steps - 51)  # fmt: skip
        today = model.platform_today
        assert (today["users_following"], today["users_unfollowed_51d"]) == tuple(int(x) for x in recount)
    assert 0 < today["users_unfollowed_51d"] and (model.firm_table()["unfollows"] > 0).any()
