"""Model quantities for validation: known answers on hand-built tables, invariants on a tiny world."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.model.market import MarketModel
from sim.validation import QUANTITIES, compute_quantities, quantities_by_replication

END = 100  # last day of the hand-built run; the 90-day window is days 11-100, settled items days 11-93


def item(firm, day, *, is_ad=False, audience=0, direct_seen=0, direct_positive=0, likes=0, comments=0, shares=0):
    return dict(firm=firm, day=day, is_ad=is_ad, kind="ad" if is_ad else "value", audience=audience,
                direct_seen=direct_seen, direct_positive=direct_positive, seen=direct_seen, likes=likes,
                comments=comments, cascade_size=shares)  # fmt: skip


@pytest.fixture
def hand_tables() -> dict[str, pd.DataFrame]:
    """A two-firm run of 100 days whose every quantity is computed by hand in the tests below."""
    steps = np.arange(1, END + 1)
    followers_a = np.where(steps < 10, 50, np.where(steps == 10, 100, 200))  # 100 on day 10, 200 on day 100
    followers_b = np.full(END, 80)
    firms = pd.concat(
        [pd.DataFrame({"step": steps, "firm": "A", "followers": followers_a}),
         pd.DataFrame({"step": steps, "firm": "B", "followers": followers_b})],
        ignore_index=True,
    )  # fmt: skip
    early = steps <= 10  # outside the window: everything shown
    platform = pd.DataFrame(
        {
            "step": steps,
            "background_items": 100,
            "candidates": np.where(early, 0, 50),
            "attention_used": np.where(early, 100, 30),  # in the window: 30 of 150 shown
        }
    )
    cascades = pd.DataFrame(
        [
            item("A", 5, audience=100, direct_seen=100),  # before the window
            item("A", 20, audience=100, direct_seen=10, likes=3, comments=1, shares=0),
            item("A", 50, audience=100, direct_seen=30, likes=5, comments=0, shares=150),
            item("B", 60, audience=50, direct_seen=5, likes=1, comments=1, shares=0),
            item("B", 98, audience=50, direct_seen=50, likes=50, shares=50),  # still travelling: not settled
            item("A", 30, is_ad=True, audience=1000, direct_seen=400, direct_positive=4),
            item("A", 31, is_ad=True, audience=1000, direct_seen=600, direct_positive=2),
        ]
    )
    cascades.insert(0, "item", np.arange(len(cascades)))
    events = pd.DataFrame(
        [
            (0, 1, "A", "initial"), (0, 2, "A", "initial"), (0, 3, "B", "initial"), (0, 4, "A", "initial"),
            (20, 4, "A", "unfollow"),  # before the 51-day window (days 50-100): not active in it
            (50, 2, "A", "unfollow"),  # on the window's first day: inside it
            (60, 5, "B", "follow"), (70, 1, "A", "unfollow"), (80, 5, "B", "unfollow"),
        ],
        columns=["step", "user", "firm", "event"],
    )  # fmt: skip
    return {"firms": firms, "platform": platform, "cascades": cascades, "follow_events": events}


def test_organic_reach_per_post_is_the_mean_over_firms_of_each_firms_mean(hand_tables):
    # A: (10/100 + 30/100)/2 = 0.2; B: 5/50 = 0.1; the day-5 post is outside and the day-98 post unsettled
    assert compute_quantities(hand_tables, ["organic_reach_per_post"])["organic_reach_per_post"] == pytest.approx(0.15)


def test_feed_read_share_uses_the_last_90_days(hand_tables):
    assert QUANTITIES["feed_read_share"](hand_tables) == pytest.approx(30 / 150)
    assert QUANTITIES["feed_shown_share"](hand_tables) == pytest.approx(30 / 150)  # the older name


def test_engagement_counts_likes_comments_and_all_shares_per_follower(hand_tables):
    a = ((3 + 1 + 0) / 100 + (5 + 0 + 150) / 100) / 2
    b = (1 + 1 + 0) / 50
    assert QUANTITIES["engagement_per_post_per_follower"](hand_tables) == pytest.approx((a + b) / 2)


def test_cascade_shares_count_settled_posts_only(hand_tables):
    assert QUANTITIES["cascade_size1_share"](hand_tables) == pytest.approx(2 / 3)
    assert QUANTITIES["cascade_100_share"](hand_tables) == pytest.approx(1 / 3)


def test_ad_action_rate_is_positive_reactions_per_ad_seen(hand_tables):
    assert QUANTITIES["ad_action_rate"](hand_tables) == pytest.approx(6 / 1000)


def test_firm_unfollow_share_among_users_active_in_the_last_51_days(hand_tables):
    # following when day 50 starts: users 1, 2 (A) and 3 (B); user 5 joins in the window; 1, 2 and 5 unfollow
    assert QUANTITIES["firm_unfollow_share_51d"](hand_tables) == pytest.approx(3 / 4)


def test_firm_follower_growth_per_month_is_the_geometric_rate_over_90_days(hand_tables):
    a = 2.0 ** (30 / 90) - 1
    assert QUANTITIES["firm_follower_growth_per_month"](hand_tables) == pytest.approx((a + 0.0) / 2)


def test_popularity_exponent_recovers_a_known_power_law():
    rng = np.random.default_rng(11)
    n = rng.zipf(2.5, size=6000)  # P(n) ~ n^-2.5, n >= 1: popularity = 1 + shares
    tables = {
        "firms": pd.DataFrame({"step": [1, 200], "firm": "A", "followers": 1}),
        "cascades": pd.DataFrame({"day": rng.integers(1, 150, n.size), "cascade_size": n - 1}),
    }
    alpha = QUANTITIES["popularity_tail_exponent"](tables)
    sigma = QUANTITIES["popularity_tail_exponent_se"](tables)
    assert 0 < sigma < 0.2
    assert abs(alpha - 2.5) < max(3 * sigma, 0.1)


def test_quantities_are_nan_when_nothing_can_be_measured(hand_tables):
    no_ads = dict(hand_tables, cascades=hand_tables["cascades"].loc[lambda t: ~t["is_ad"]])
    assert math.isnan(QUANTITIES["ad_action_rate"](no_ads))
    few = dict(hand_tables, cascades=hand_tables["cascades"].head(3))
    assert math.isnan(QUANTITIES["popularity_tail_exponent"](few))


def test_quantities_by_replication_splits_stacked_tables(hand_tables):
    stacked = {k: pd.concat([t.assign(replication=0), t.assign(replication=1)]) for k, t in hand_tables.items()}
    values = quantities_by_replication(stacked, ["feed_read_share", "firm_unfollow_share_51d"])
    assert values["replication"].tolist() == [0, 1]
    assert values["feed_read_share"].tolist() == pytest.approx([0.2, 0.2])
    assert values["firm_unfollow_share_51d"].tolist() == pytest.approx([0.75, 0.75])


def test_unknown_quantity_names_are_refused(hand_tables):
    with pytest.raises(KeyError, match="nonsense"):
        compute_quantities(hand_tables, ["nonsense"])


# -- the model's new outputs on a tiny world ----------------------------------------


def tiny_run(**overrides) -> MarketModel:
    params = {"width": 12, "height": 12, "steps": 30, "home_radius": 3, **overrides}
    model = MarketModel(seed=7, **params)
    while model.running:
        model.step()
    return model


def tables_of(model: MarketModel) -> dict[str, pd.DataFrame]:
    return {"firms": model.firm_table(), "platform": model.platform_table(),
            "cascades": model.cascade_table(), "follow_events": model.follow_event_table()}  # fmt: skip


def test_with_ample_attention_every_post_reaches_every_follower_and_every_item_is_shown():
    model = tiny_run(pages_followed=0, attention_mean=10_000, attention_sigma=0.01)
    tables = tables_of(model)
    posts = tables["cascades"].loc[~tables["cascades"]["is_ad"]]
    assert (posts["direct_seen"] == posts["audience"]).all()
    assert QUANTITIES["organic_reach_per_post"](tables) == pytest.approx(1.0)
    assert QUANTITIES["feed_read_share"](tables) == pytest.approx(1.0)


def test_item_counters_add_up_to_the_firm_table_without_replies():
    """With no replies every seen candidate is an item: the per-item counters sum to the daily outputs."""
    model = tiny_run(firms=[{"name": "b", "preset": "broadcast", "ads_per_day": 40, "budget": 8},
                            {"name": "d", "preset": "dialogue", "reply_rate": 0.0}])  # fmt: skip
    tables = tables_of(model)
    items = tables["cascades"].groupby("firm")[["seen", "likes", "comments", "cascade_size"]].sum()
    daily = tables["firms"].groupby("firm")[["impressions", "likes", "comments", "paid_reach"]].sum()
    assert (items["seen"] == daily["impressions"]).all()
    assert (items["likes"] == daily["likes"]).all()
    assert (items["comments"] == daily["comments"]).all()
    ads = tables["cascades"].loc[tables["cascades"]["is_ad"]].groupby("firm")["direct_seen"].sum()
    assert ads["b"] == daily.loc["b", "paid_reach"]  # one ad per target and day: impressions = reach
    assert items["likes"].sum() > 0 and ads["b"] > 0


def test_follow_events_reconstruct_the_daily_followers():
    model = tiny_run()
    tables = tables_of(model)
    events = tables["follow_events"]
    assert set(events["event"]) <= {"initial", "follow", "unfollow"}
    sign = events["event"].map({"initial": 1, "follow": 1, "unfollow": -1})
    net = sign.groupby([events["step"], events["firm"]]).sum().unstack(fill_value=0).cumsum()
    followers = tables["firms"].pivot(index="step", columns="firm", values="followers")
    rebuilt = net.reindex(range(0, followers.index.max() + 1)).ffill().loc[followers.index, followers.columns]
    assert (rebuilt.to_numpy() == followers.to_numpy()).all()
    assert (events["event"] == "unfollow").any()


def test_the_recorder_does_not_change_the_run():
    """The counters draw no random numbers: every output matches a run whose recorder does nothing."""

    class Silent:
        def __getattr__(self, name):
            return lambda *args, **kwargs: None

    class Unrecorded(MarketModel):
        def step(self):
            self.recorder = Silent()
            super().step()

    plain = Unrecorded(seed=3, width=12, height=12, steps=20)
    while plain.running:
        plain.step()
    recorded = MarketModel(seed=3, width=12, height=12, steps=20)
    while recorded.running:
        recorded.step()
    pd.testing.assert_frame_equal(plain.firm_table(), recorded.firm_table())
    pd.testing.assert_frame_equal(plain.platform_table(), recorded.platform_table())
    assert (plain.items.shares == recorded.items.shares).all()
