"""The validation quantities remapped for the page market (issue 21, "Facts, mapped right").

Known answers on hand-made tables (medians over pages, user-seeded cascades,
unfollowing over every followed page, follower growth from the weekly page
table, the posting-frequency figures, negative feedback per impression),
what makes a quantity not measurable in a world, and tiny market runs
(seconds) that check the tables the quantities read agree with each other.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.runs.results import MARKET_TABLES, combine
from sim.runs.runner import run_replication, run_replications
from sim.scenario import load_scenario
from sim.validation import QUANTITIES, load_facts, quantities_by_replication
from sim.validation.quantities import MARKET_TABLES as PASSED_MARKET_TABLES
from sim.validation.quantities import split_replications, unmeasurable

END = 100  # the hand-made runs' last day: the 90-day window is days 11-100, settled posts days 11-93


def post(page, day, audience=100, seen=0, likes=0, comments=0, shares=0, is_ad=False) -> dict:
    return dict(firm=page, day=day, is_ad=is_ad, kind="value", audience=audience, direct_seen=seen,
                direct_positive=0, seen=seen, likes=likes, comments=comments, cascade_size=shares)  # fmt: skip


def run_tables(cascades: list[dict] | pd.DataFrame, end: int = END, **extra) -> dict[str, pd.DataFrame]:
    """A run of ``end`` days: the firm table only fixes the last day; a page table marks it a market run."""
    cascades = pd.DataFrame(cascades) if isinstance(cascades, list) else cascades
    cascades.insert(0, "item", np.arange(len(cascades)))
    tables = {
        "firms": pd.DataFrame({"step": [1, end], "firm": "A", "followers": 1, "impressions": 0,
                               "negative_comments": 0}),
        "platform": pd.DataFrame({"step": np.arange(1, end + 1)}),
        "cascades": cascades,
        "follow_events": pd.DataFrame(columns=["step", "user", "firm", "event"]),
        "pages": pd.DataFrame({"page": [0], "name": ["A"], "is_firm": [True]}),
    }  # fmt: skip
    tables.update(extra)
    return tables


# -- reach and engagement: the median over pages ----------------------------------------------


def test_organic_reach_is_the_median_over_pages_not_the_mean():
    posts = [post("A", 20, seen=10), post("A", 30, seen=10),  # A: 0.1
             post("B", 20, seen=20),                           # B: 0.2
             post("C", 20, seen=80), post("C", 40, seen=100),  # C: 0.9
             post("C", 5, seen=0),                             # before the window: left out
             post("C", 97, seen=0)]                            # not settled: left out
    tables = run_tables(posts)
    assert QUANTITIES["organic_reach_per_post"](tables) == pytest.approx(0.2)  # the mean over pages is 0.4


def test_engagement_is_the_median_over_pages_of_likes_comments_and_shares_per_follower():
    posts = [post("A", 20, likes=1), post("B", 20, likes=2, comments=1, shares=1), post("C", 20, likes=50),
             post("D", 20, audience=0, likes=9)]  # no followers when posted: left out
    tables = run_tables(posts)
    assert QUANTITIES["engagement_per_post_per_follower"](tables) == pytest.approx(0.04)


# -- cascades seeded by a user's share --------------------------------------------------------


def test_cascades_of_size_one_are_counted_over_user_seeded_cascades():
    cascades = pd.DataFrame({"cascade": range(7), "item": 0, "page": 0, "page_name": "A", "root_user": range(7),
                             "day": [20, 30, 40, 50, 60, 5, 97], "size": [1, 1, 1, 2, 5, 1, 1]})  # fmt: skip
    tables = run_tables([post("A", 20, shares=9)], user_cascades=cascades)
    # days 20-60: three of five are of size one; day 5 is before the window, day 97 may still grow
    assert QUANTITIES["user_cascade_size1_share"](tables) == pytest.approx(3 / 5)
    assert QUANTITIES["cascade_size1_share"](tables) == 0.0  # the post-seeded count sees one shared post


def test_user_cascades_not_passed_make_the_fact_unmeasurable():
    tables = run_tables([post("A", 20)])
    assert math.isnan(QUANTITIES["user_cascade_size1_share"](tables))
    assert "user_cascades" in unmeasurable("user_cascade_size1_share", tables)


# -- unfollowing over every followed page -------------------------------------------------------


def platform(end: int, following: int, unfollowed: int) -> pd.DataFrame:
    steps = np.arange(1, end + 1)
    return pd.DataFrame({"step": steps, "users_following": np.where(steps == end, following, 1),
                         "users_unfollowed_51d": np.where(steps == end, unfollowed, 1),
                         "friend_posts": 20})  # fmt: skip


def test_unfollow_share_is_the_last_days_users_who_unfollowed_any_page_over_users_following():
    tables = run_tables([post("A", 20)], platform=platform(END, following=800, unfollowed=344))
    assert QUANTITIES["unfollow_share_51d"](tables) == pytest.approx(0.43)


def test_unfollow_share_needs_51_days_and_the_market():
    short = run_tables([post("A", 20)], end=50, platform=platform(50, following=800, unfollowed=344))
    assert math.isnan(QUANTITIES["unfollow_share_51d"](short))
    assert unmeasurable("unfollow_share_51d", short) == "needs 51 days, the run has 50: not measurable in this world"
    part1 = run_tables([post("A", 20)], platform=platform(END, 800, 344), pages=pd.DataFrame())
    assert math.isnan(QUANTITIES["unfollow_share_51d"](part1))
    assert "part-1" in unmeasurable("unfollow_share_51d", part1)
    assert unmeasurable("unfollow_share_51d", run_tables([post("A", 20)], platform=platform(END, 800, 344))) is None


def test_a_market_run_is_recognised_without_its_page_table():
    """Tables passed without the page table (say, by a caller that knows only part 1's four) are a market
    run if the platform table shows friends' posts."""
    tables = run_tables([post("A", 20)], platform=platform(END, 800, 344))
    del tables["pages"]
    assert QUANTITIES["unfollow_share_51d"](tables) == pytest.approx(0.43)
    no_friends = dict(tables, platform=platform(END, 800, 344).assign(friend_posts=0))
    assert math.isnan(QUANTITIES["unfollow_share_51d"](no_friends))


# -- follower growth over pages -------------------------------------------------------------------


def growth_tables(weeks: int = 20) -> dict[str, pd.DataFrame]:
    """Four pages over ``weeks`` weeks, followers doubling, flat, halving, and a page that never posts."""
    week = np.arange(1, weeks + 1)
    series = {0: 100 * 2.0 ** ((week - 7) / 13), 1: np.full(weeks, 50.0), 2: 80 * 0.5 ** ((week - 7) / 13),
              3: 10 * 3.0 ** ((week - 7) / 13)}  # fmt: skip
    weekly = pd.concat([pd.DataFrame({"week": week, "page": p, "followers": f, "posts": 0 if p == 3 else 5,
                                      "organic_reach": 1, "impressions": 1}) for p, f in series.items()])  # fmt: skip
    pages = pd.DataFrame({"page": range(4), "name": list("ABCD"), "is_firm": False, "posts": [5, 5, 5, 0],
                          "followers_start": [10, 50, 80, 0], "followers_end": [400, 50, 20, 90]})  # fmt: skip
    return run_tables([post("A", 20)], end=7 * weeks, pages=pages, pages_weekly=weekly)


def test_follower_growth_is_the_median_monthly_growth_of_pages_that_posted_over_13_weeks():
    tables = growth_tables()  # days 49-140: 91 days; page 3 never posted and is left out
    rates = sorted([2.0 ** (30 / 91) - 1, 0.0, 0.5 ** (30 / 91) - 1])
    assert QUANTITIES["follower_growth_per_month"](tables) == pytest.approx(rates[1])
    doubling = growth_tables()
    weekly = doubling["pages_weekly"]
    from_week_7 = 50 * 2.0 ** (np.maximum(weekly["week"] - 7, 0) / 13)
    doubling["pages_weekly"] = weekly.assign(followers=np.where(weekly["page"] == 1, from_week_7, weekly["followers"]))
    # now page 1 doubles too from week 7 on: the median is the doubling rate over the last 13 weeks
    assert QUANTITIES["follower_growth_per_month"](doubling) == pytest.approx(2.0 ** (30 / 91) - 1)


def test_follower_growth_without_the_weekly_table_uses_the_whole_run():
    tables = growth_tables()
    del tables["pages_weekly"]  # 140 days: A 10 -> 400, B flat, C 80 -> 20; D never posted
    rates = sorted([40.0 ** (30 / 140) - 1, 0.0, 0.25 ** (30 / 140) - 1])
    assert QUANTITIES["follower_growth_per_month"](tables) == pytest.approx(rates[1])


def test_follower_growth_needs_a_month_and_is_kept_for_firms_as_a_separate_quantity():
    assert math.isnan(QUANTITIES["follower_growth_per_month"](growth_tables(weeks=4)))  # 28 days
    assert "firm" in QUANTITIES["firm_follower_growth_per_month"].description


# -- posting frequency ------------------------------------------------------------------------------


def posts_at(page: str, per_day: float, engagement: float, reach: float = 0.1) -> list[dict]:
    """Posts over days 11-100 at ``per_day``, each with the given engagement and reach per follower."""
    days = np.repeat(np.arange(11, 101), 3)[:: max(1, round(3 / per_day))] if per_day >= 1 else \
        np.arange(11, 101, round(1 / per_day))  # fmt: skip
    return [post(page, int(d), seen=round(100 * reach), likes=round(100 * engagement)) for d in days]


def test_frequent_posters_get_the_ratio_of_class_medians_per_post():
    posts = []
    for k, (e, r) in enumerate([(0.02, 0.05), (0.03, 0.04), (0.04, 0.10)]):
        posts += posts_at(f"frequent{k}", 3, e, r)  # 270 posts in 90 days: 90 a month
    for k, (e, r) in enumerate([(0.10, 0.2), (0.05, 0.3), (0.09, 0.4)]):
        posts += posts_at(f"rare{k}", 1 / 10, e, r)  # 9 posts in 90 days: 3 a month
    posts += posts_at("middle", 1, 0.5, 0.9)  # 30 a month: in neither class
    tables = run_tables(posts)
    assert QUANTITIES["frequent_vs_rare_engagement_per_post"](tables) == pytest.approx(0.03 / 0.09)
    assert QUANTITIES["frequent_vs_rare_reach_per_post"](tables) == pytest.approx(0.05 / 0.3)
    two_frequent = [p for p in posts if p["firm"] != "frequent0"]
    assert math.isnan(QUANTITIES["frequent_vs_rare_engagement_per_post"](run_tables(two_frequent)))


def test_reach_elasticity_recovers_a_known_exponent_with_followers_held_fixed():
    rng = np.random.default_rng(3)
    n = 40
    posts, followers = rng.integers(1, 60, n), rng.integers(10, 5000, n)
    followers[np.argsort(posts)] = np.sort(followers)  # followers rise with posts: the raw slope is biased
    reach = 7.0 * posts**0.8 * followers**1.1
    weekly = pd.DataFrame({"week": 20, "page": range(n), "followers": followers, "posts": posts,
                           "organic_reach": reach, "impressions": 0})  # fmt: skip
    tables = run_tables([post("A", 20)], end=140, pages_weekly=weekly,
                        pages=pd.DataFrame({"page": range(n), "is_firm": False}))  # fmt: skip
    assert QUANTITIES["reach_frequency_elasticity"](tables) == pytest.approx(0.8)
    few = dict(tables, pages_weekly=weekly.head(9))
    assert math.isnan(QUANTITIES["reach_frequency_elasticity"](few))


def test_two_posts_a_day_against_one_each_page_against_itself():
    posts = [post("A", 20, likes=10), post("A", 21, likes=10),  # one a day: 0.1
             post("A", 30, likes=5), post("A", 30, likes=5),    # two on day 30: 0.05 each
             post("B", 20, likes=20),                           # 0.2
             post("B", 40, likes=10), post("B", 40, likes=14),  # 0.12
             post("C", 50, likes=90), post("C", 50, likes=90), post("C", 50, likes=90),  # three a day: ignored
             post("D", 60, likes=99)]                           # only one-post days: no pair
    tables = run_tables(posts)
    assert QUANTITIES["two_vs_one_post_likes"](tables) == pytest.approx(((0.05 + 0.12) / 2) / ((0.1 + 0.2) / 2))


# -- negative feedback per impression ----------------------------------------------------------------


def test_negative_feedback_per_impression_for_the_firms_and_for_every_page():
    tables = run_tables([post("A", 20)])
    tables["firms"] = pd.DataFrame({"step": [5, 50, 100, 100], "firm": ["A", "A", "A", "B"],
                                    "impressions": [1000, 300, 200, 500], "negative_comments": [500, 6, 4, 10]})
    assert QUANTITIES["negative_per_impression_firms"](tables) == pytest.approx(20 / 1000)  # day 5 is outside
    tables["pages"] = pd.DataFrame({"page": [0, 1], "name": ["A", "B"], "impressions": [600, 400],
                                    "negative_reactions": [15, 5]})
    assert QUANTITIES["negative_per_impression_pages"](tables) == pytest.approx(20 / 1000)
    del tables["pages"]
    assert "pages" in unmeasurable("negative_per_impression_pages", tables)


# -- the facts file ------------------------------------------------------------------------------------


def test_every_shipped_fact_keeps_its_era_and_the_remapped_ones_name_their_new_quantities():
    facts = load_facts()
    assert all(f.era.strip() for f in facts.facts)
    assert facts["cascades_size_one"].quantity == "user_cascade_size1_share"
    assert facts["unfollow_share"].quantity == "unfollow_share_51d" and QUANTITIES["unfollow_share_51d"].market_only
    assert facts["follower_growth"].quantity == "follower_growth_per_month"
    assert QUANTITIES["follower_growth_per_month"].market_only
    assert "feed_shown_share" not in facts.ids and facts["feed_read_share"].quantity == "feed_read_share"
    for fact_id in ("posting_frequency_clicks", "posting_frequency_reach", "two_posts_a_day_likes",
                    "negative_feedback", "engagement_rate_2014"):
        assert fact_id in facts.ids
    assert "2019" in facts["engagement_rate"].era and "mixes eras" in facts["engagement_rate"].mapping


# -- tiny market runs -------------------------------------------------------------------------------


def market_replication(*overrides: str, seed: int = 1):
    scenario = load_scenario("scenarios/market.yaml", ["width=12", "height=12", "steps=60", "market.pages=60",
                                                       *overrides])  # fmt: skip
    return run_replication(scenario.model_kwargs(), seed, 0)


@pytest.fixture(scope="module")
def market_run():
    return market_replication("record_events=true")


def test_the_quantities_get_every_market_table(market_run):
    tables = combine([market_run])
    assert set(PASSED_MARKET_TABLES) == set(MARKET_TABLES)
    split = split_replications(tables)[0]
    assert all(not split[name].empty for name in MARKET_TABLES)


def test_the_cascade_table_agrees_with_the_page_table_on_every_page(market_run):
    """The per-page quantities read every page's posts from the cascade table: its per-post reach and likes
    must be the page table's, page by page."""
    posts = market_run.cascades.loc[~market_run.cascades["is_ad"] & (market_run.cascades["audience"] > 0)]
    pages = market_run.pages.set_index("name")
    reach = (posts["direct_seen"] / posts["audience"]).groupby(posts["firm"]).mean()
    likes = (posts["likes"] / posts["audience"]).groupby(posts["firm"]).mean()
    assert len(reach) == pages["organic_reach_per_post"].notna().sum() > 2
    np.testing.assert_allclose(reach, pages.loc[reach.index, "organic_reach_per_post"])
    np.testing.assert_allclose(likes, pages.loc[likes.index, "engagement_per_post"])


def test_user_cascades_account_for_every_share(market_run):
    """Every share starts a user cascade or joins one: the cascades' sizes add up to the items' shares."""
    assert market_run.user_cascades["size"].sum() == market_run.cascades["cascade_size"].sum() > 0


def test_negative_reactions_of_the_event_log_match_the_firm_table(market_run):
    events = market_run.events.loc[market_run.events["event"] == "negative_comment"]
    by_firm = market_run.firms.groupby("firm")["negative_comments"].sum()
    assert events.groupby("page").size().reindex(by_firm.index, fill_value=0).tolist() == by_firm.tolist()


def test_a_tiny_market_measures_the_market_facts(market_run):
    tables = split_replications(combine([market_run]))[0]
    values = {name: QUANTITIES[name](tables) for name in QUANTITIES}
    last = market_run.platform.iloc[-1]
    assert values["unfollow_share_51d"] == pytest.approx(last["users_unfollowed_51d"] / last["users_following"])
    assert values["feed_read_share"] == pytest.approx(
        market_run.platform["attention_used"].sum()
        / (market_run.platform["candidates"] + market_run.platform["background_items"]).sum())
    for name in ("organic_reach_per_post", "engagement_per_post_per_follower", "user_cascade_size1_share",
                 "unfollow_share_51d", "follower_growth_per_month", "reach_frequency_elasticity",
                 "two_vs_one_post_likes", "negative_per_impression_firms", "negative_per_impression_pages"):
        assert math.isfinite(values[name]), name
    assert 0 < values["unfollow_share_51d"] <= 1 and 0 < values["user_cascade_size1_share"] <= 1


def test_a_short_or_part1_world_marks_the_market_facts_unmeasurable():
    short = split_replications(combine([market_replication("steps=30")]))[0]
    assert math.isnan(QUANTITIES["unfollow_share_51d"](short))
    assert unmeasurable("unfollow_share_51d", short).startswith("needs 51 days")
    part1 = split_replications(combine([market_replication("market.pages=0")]))[0]
    for name in ("unfollow_share_51d", "follower_growth_per_month", "reach_frequency_elasticity"):
        assert math.isnan(QUANTITIES[name](part1)), name
        assert unmeasurable(name, part1) is not None
    assert math.isfinite(QUANTITIES["user_cascade_size1_share"](part1))  # written for part-1 runs too
    assert math.isfinite(QUANTITIES["firm_unfollow_share_51d"](part1))


def test_quantities_by_replication_of_a_stacked_market_run():
    scenario = load_scenario("scenarios/market.yaml", ["width=12", "height=12", "steps=60", "market.pages=40",
                                                       "replications=2"])  # fmt: skip
    reps = run_replications(scenario.model_kwargs(), scenario.seed, 2, workers=1)
    values = quantities_by_replication(combine(reps), ["unfollow_share_51d", "follower_growth_per_month"])
    assert values["replication"].tolist() == [0, 1]
    for r, rep in enumerate(reps):
        last = rep.platform.iloc[-1]
        share = last["users_unfollowed_51d"] / last["users_following"]
        assert values.loc[r, "unfollow_share_51d"] == pytest.approx(share)
    assert values["follower_growth_per_month"].notna().all()
