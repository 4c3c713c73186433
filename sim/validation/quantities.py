"""Model quantities: named functions of one replication's tables.

Each quantity takes ``tables``, a mapping with the tidy tables of one run:
``firms`` (per firm and day), ``platform`` (per day), ``cascades`` (per
post or ad creative of every page, with its exposure and reaction
counters), ``follow_events`` (follow relations of the firms) and, from the
page market (MARKET_SPEC.md, "Outputs added"), ``pages`` (one row per page,
firms first), ``pages_weekly``, ``user_cascades`` (cascades seeded by a
user's share, also written for part-1 runs) and ``events`` (the optional
event log). It returns one float, NaN when the run has nothing to measure
it on. The functions are scale-free ratios where they can be; each says in
``scale`` whether the world's size moves it.

A quantity may be *not measurable in this world*: it needs more days than
the run has (``min_days``: 51 for unfollowing, a month for monthly
figures), the page market (``market_only``: users who can unfollow any of
their pages, pages found by discovery), or a table the caller did not pass
(``needs``). It is then NaN, which the verdict reports as ``unmeasured``;
`unmeasurable` says why.

Pages: in a market run every page counts (the firms and the background
pages); in a part-1 run the pages are the firms. Per-page figures are
summarised by the median over pages, as the published benchmarks are.

Windows: steady-state quantities use the last 90 days (as late reach
does). Items younger than ``post_lifetime`` (7 days by default) at the end
may still be shared, so the cascade and engagement quantities use items
published at least ``SETTLE_DAYS`` before the last day.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.model.outputs import LATE_DAYS

SETTLE_DAYS = 7  # the default post_lifetime: an item older than this can travel no more
UNFOLLOW_WINDOW = 51  # days observed by Kwak, Chun and Moon (2011)
MONTH_DAYS = 30
MIN_TAIL_ITEMS = 20  # fewer shared items than this: no exponent is fitted
GROWTH_WEEKS = 13  # follower growth over the last 13 weeks (91 days), as Fanpage Karma's three months
FREQUENT_PER_MONTH, RARE_PER_MONTH = 60, 5  # HubSpot's classes: more than 60 posts a month, at most 5
MIN_CLASS_PAGES = 3  # fewer pages than this in a posting-rate class: no ratio
MIN_FIT_PAGES = 10  # fewer pages than this: no elasticity is fitted
SMALL_PAGE = 10_000  # HubSpot's split: pages under 10,000 followers

TABLES = ("firms", "platform", "cascades", "follow_events")  # every run, part 1 and market
MARKET_TABLES = ("pages", "pages_weekly", "user_cascades", "events")  # sim.runs.results.MARKET_TABLES

Tables = Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class Quantity:
    """A named model quantity: its function, unit, definition, scale sensitivity and what it needs.

    ``min_days``: the run must last at least this many days; ``market_only``:
    the quantity has no counterpart in a part-1 world; ``needs``: tables the
    caller must pass (a missing or empty one makes the quantity unmeasurable).
    """

    name: str
    function: Callable[[Tables], float]
    unit: str
    description: str
    scale: str
    min_days: int = 0
    market_only: bool = False
    needs: tuple[str, ...] = ()

    def unmeasurable(self, tables: Tables) -> str | None:
        """Why this world cannot measure the quantity (a short phrase), or None when it can."""
        missing = [name for name in self.needs if not has_table(tables, name)]
        if missing:
            return f"needs the table(s) {', '.join(missing)}, not in this run's tables"
        if self.market_only and not is_market(tables):
            return "needs the page market (market.pages > 0): not measurable in a part-1 world"
        if self.min_days and run_days(tables) < self.min_days:
            return f"needs {self.min_days} days, the run has {run_days(tables)}: not measurable in this world"
        return None

    def __call__(self, tables: Tables) -> float:
        if self.unmeasurable(tables) is not None:
            return float("nan")
        return float(self.function(tables))


QUANTITIES: dict[str, Quantity] = {}


def quantity(unit: str, description: str, scale: str, *, min_days: int = 0, market_only: bool = False,
             needs: tuple[str, ...] = ()):  # fmt: skip
    """Register a function of one replication's tables as a named quantity."""

    def register(function: Callable[[Tables], float]) -> Callable[[Tables], float]:
        QUANTITIES[function.__name__] = Quantity(
            function.__name__, function, unit, description, scale, min_days, market_only, needs
        )
        return function

    return register


def unmeasurable(name: str, tables: Tables) -> str | None:
    """Why quantity ``name`` cannot be measured on these tables (None: it can; it may still be NaN)."""
    return QUANTITIES[name].unmeasurable(tables)


# -- helpers ------------------------------------------------------------------


def has_table(tables: Tables, name: str) -> bool:
    table = tables.get(name) if hasattr(tables, "get") else None
    return table is not None and not table.empty


def is_market(tables: Tables) -> bool:
    """A page-market run: it has a page table, or (tables passed without it) friends' posts or
    background-page follows in the platform table."""
    if name_present(tables, "pages"):
        return has_table(tables, "pages")
    platform = tables.get("platform")
    if platform is None:
        return False
    columns = [c for c in ("friend_posts", "follows_background", "unfollows_background") if c in platform]
    return bool(columns) and bool((platform[columns].to_numpy() > 0).any())


def name_present(tables: Tables, name: str) -> bool:
    return hasattr(tables, "get") and tables.get(name) is not None


def run_days(tables: Tables) -> int:
    """The run's last day (from the firm table, else the platform table)."""
    for name in ("firms", "platform"):
        if has_table(tables, name):
            return int(tables[name]["step"].max())
    return 0


def last_step(tables: Tables) -> int:
    return int(tables["firms"]["step"].max())


def settled_items(tables: Tables, ads: bool | None) -> pd.DataFrame:
    """Items of the last 90 days that can no longer be shared (published >= SETTLE_DAYS before the end)."""
    items = tables["cascades"]
    end = run_days(tables)
    keep = (items["day"] > end - LATE_DAYS) & (items["day"] <= end - SETTLE_DAYS)
    if not keep.any():  # a short run: every item
        keep = pd.Series(True, index=items.index)
    if ads is not None:
        keep &= items["is_ad"] == ads
    return items.loc[keep]


def median_over_pages(per_item: pd.Series, pages: pd.Series) -> float:
    """Each page's mean over its items, then the median over pages (firms and background pages alike)."""
    if per_item.empty:
        return float("nan")
    return float(per_item.groupby(pages.to_numpy()).mean().median())


def late_days(table: pd.DataFrame, end: int) -> pd.DataFrame:
    return table.loc[table["step"] > end - LATE_DAYS]


def engagement(posts: pd.DataFrame) -> pd.Series:
    """Per post: likes + positive comments + shares through any channel, per follower when posted."""
    return (posts["likes"] + posts["comments"] + posts["cascade_size"]) / posts["audience"]


# -- reach, engagement, the feed ------------------------------------------------------


@quantity(
    "share of followers",
    "organic reach per post: followers who saw the post in their feed on its day / followers when it was "
    "published; mean over each page's posts, then the median over pages (every page of a market run, the "
    "firms in part 1; posts of the last 90 days)",
    "scale-free in the world's size, but depends on attention and on how many pages users follow",
)
def organic_reach_per_post(tables: Tables) -> float:
    posts = settled_items(tables, ads=False)
    posts = posts.loc[posts["audience"] > 0]
    return median_over_pages(posts["direct_seen"] / posts["audience"], posts["firm"])


@quantity(
    "share of eligible items",
    "items read / items eligible: attention used (page items seen + background or friends' items read) "
    "over all items offered, platform-wide, last 90 days. The model shows a user only what it reads, so "
    "this is a read share (a market run's shown_share is the same ratio)",
    "scale-free: a per-user ratio summed over users",
)
def feed_read_share(tables: Tables) -> float:
    platform = late_days(tables["platform"], run_days(tables))
    eligible = (platform["background_items"] + platform["candidates"]).sum()
    return float(platform["attention_used"].sum() / eligible) if eligible else float("nan")


QUANTITIES["feed_shown_share"] = Quantity(
    "feed_shown_share", feed_read_share, "share of eligible items",
    "the older name of feed_read_share (the same read share; the model has no shown-but-unread story)",
    QUANTITIES["feed_read_share"].scale,
)  # fmt: skip


@quantity(
    "per post per follower",
    "engagement rate: (likes + positive comments + shares) a post received through any channel / "
    "followers when it was published; mean over each page's posts, then the median over pages",
    "mostly scale-free; shares reach non-followers, so it grows a little with the share network",
)
def engagement_per_post_per_follower(tables: Tables) -> float:
    posts = settled_items(tables, ads=False)
    posts = posts.loc[posts["audience"] > 0]
    return median_over_pages(engagement(posts), posts["firm"])


# -- cascades and popularity ----------------------------------------------------


@quantity(
    "share of cascades",
    "cascades of size 1 counted as Goel et al. count them: a user who got a page's item from the page "
    "itself and shared it seeds a cascade; size 1 = nobody shared it on from that user. Cascades seeded "
    "in the last 90 days and at least 7 days before the end",
    "scale-free for small cascades; a finite world caps large ones",
    needs=("user_cascades",),
)
def user_cascade_size1_share(tables: Tables) -> float:
    cascades = tables["user_cascades"]
    end = run_days(tables)
    keep = (cascades["day"] > end - LATE_DAYS) & (cascades["day"] <= end - SETTLE_DAYS)
    if not keep.any():  # a short run: every cascade
        keep = pd.Series(True, index=cascades.index)
    return float((cascades.loc[keep, "size"] == 1).mean())


@quantity(
    "share of posts",
    "post-seeded cascades of size 1: posts nobody shared (the post is the seed, size = 1 + all shares it "
    "caused); not Goel et al.'s count, see user_cascade_size1_share",
    "scale-free for small cascades; a finite world caps large ones",
)
def cascade_size1_share(tables: Tables) -> float:
    posts = settled_items(tables, ads=False)
    return float((posts["cascade_size"] == 0).mean()) if len(posts) else float("nan")


@quantity(
    "share of posts",
    "cascades of size 100 or more: posts with at least 99 shares (size = 1 + shares)",
    "scale-sensitive: 10,000 users cap cascades far below a real platform's",
)
def cascade_100_share(tables: Tables) -> float:
    posts = settled_items(tables, ads=False)
    return float((posts["cascade_size"] + 1 >= 100).mean()) if len(posts) else float("nan")


_last_fit: list = [None, None]  # [cascades table, its fit]: the exponent and its error share one fit


def _popularity_fit(tables: Tables):
    """(alpha, its standard error, x_min): discrete power-law fit (Clauset-Shalizi-Newman, package
    powerlaw) to 1 + shares of every item; None when too few items were shared."""
    items = tables["cascades"]
    if _last_fit[0] is items:
        return _last_fit[1]
    fit = _fit_popularity(tables)
    _last_fit[:] = [items, fit]
    return fit


def _fit_popularity(tables: Tables):
    import powerlaw

    items = tables["cascades"]
    items = items.loc[items["day"] <= run_days(tables) - SETTLE_DAYS]
    popularity = items["cascade_size"].to_numpy() + 1
    if np.count_nonzero(popularity > 1) < MIN_TAIL_ITEMS or np.unique(popularity).size < 3:
        return None
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")  # powerlaw warns about its optimiser's start values
        fit = powerlaw.Fit(popularity, discrete=True, verbose=False)
        return float(fit.power_law.alpha), float(fit.power_law.standard_err), float(fit.xmin)


@quantity(
    "exponent",
    "tail exponent alpha of item popularity P(n) ~ n^-alpha, n = 1 + shares of a post or ad creative, "
    "whole run; discrete maximum-likelihood fit with x_min chosen by the KS distance (powerlaw package)",
    "scale-sensitive in the far tail: a small world truncates large cascades",
)
def popularity_tail_exponent(tables: Tables) -> float:
    fit = _popularity_fit(tables)
    return fit[0] if fit is not None else float("nan")


@quantity(
    "exponent (standard error)",
    "standard error of the tail exponent's maximum-likelihood fit (powerlaw's sigma), per replication",
    "shrinks with more items, so with more posts and a longer run",
)
def popularity_tail_exponent_se(tables: Tables) -> float:
    fit = _popularity_fit(tables)
    return fit[1] if fit is not None else float("nan")


# -- unfollowing and follower growth ------------------------------------------------------


@quantity(
    "share of users",
    "users who unfollowed any page (firm or background page) in the last 51 days / users following at "
    "least one page on the last day (the platform table's users_unfollowed_51d / users_following). Part "
    "1 has no counterpart: its users can drop only the firms, never the pages they follow in the background",
    "mostly scale-free in a market run (every user follows ~109 pages); the firms' absolute budgets and "
    "ad counts still touch a smaller share of users in a larger world",
    min_days=UNFOLLOW_WINDOW,
    market_only=True,
)
def unfollow_share_51d(tables: Tables) -> float:
    last = tables["platform"].sort_values("step").iloc[-1]
    following = float(last["users_following"])
    return float(last["users_unfollowed_51d"]) / following if following else float("nan")


@quantity(
    "share of users following a firm",
    "firm-only variant: users who unfollowed at least one firm in the last 51 days / users who followed "
    "at least one firm at some time in those 51 days (from the follow events); not the published "
    "quantity, which is about all of a user's followees",
    "scale-sensitive: budgets and ad counts are absolute, so a larger world has a smaller share of users "
    "touched (and fatigued) by each firm",
    min_days=UNFOLLOW_WINDOW,
)
def firm_unfollow_share_51d(tables: Tables) -> float:
    events = tables["follow_events"]
    end = run_days(tables)
    start = max(1, end - UNFOLLOW_WINDOW + 1)
    before = events.loc[events["step"] < start]
    sign = np.where(before["event"].to_numpy() == "unfollow", -1, 1)
    net = pd.Series(sign).groupby([before["user"].to_numpy(), before["firm"].to_numpy()]).sum()
    following = set(net[net > 0].index.get_level_values(0))
    during = events.loc[events["step"] >= start]
    joined = set(during.loc[during["event"] == "follow", "user"])
    left = set(during.loc[during["event"] == "unfollow", "user"])
    active = following | joined
    return len(left & active) / len(active) if active else float("nan")


def _followers_window(tables: Tables) -> tuple[pd.Series, pd.Series, pd.Series, int]:
    """(followers at the window's start, at its end, posts in it) per page, and its length in days.

    From the weekly page table: the window ends with the last (possibly partial) week and starts
    GROWTH_WEEKS weeks earlier, or at set-up (the page table's followers_start) if the run is shorter.
    Without the weekly table: the whole run, from the page table.
    """
    pages = tables["pages"].set_index("page")
    end = run_days(tables)
    if not has_table(tables, "pages_weekly"):
        return pages["followers_start"], pages["followers_end"], pages["posts"], end
    weekly = tables["pages_weekly"].pivot_table(index="week", columns="page", values=["followers", "posts"])
    last = int(weekly.index.max())
    first = last - GROWTH_WEEKS
    if first >= 1:
        start, start_day = weekly["followers"].loc[first], 7 * first
    else:
        first, start, start_day = 0, pages["followers_start"], 0
    posts = weekly["posts"].loc[weekly.index > first].sum()
    return start, weekly["followers"].loc[last], posts, end - start_day


@quantity(
    "per month",
    "follower growth per 30 days over pages in an open world with discovery: per page (followers at the "
    "end / followers 13 weeks earlier)^(30/days) - 1, median over the pages that posted in those weeks and "
    "had followers at their start (weekly page table; the whole run if it is off)",
    "scale-sensitive: pages with a large share of a small world's users saturate",
    min_days=MONTH_DAYS,
    market_only=True,
    needs=("pages",),
)
def follower_growth_per_month(tables: Tables) -> float:
    start, end, posts, days = _followers_window(tables)
    ok = (start > 0) & (posts.reindex(start.index).fillna(0) > 0)
    if days < MONTH_DAYS or not ok.any():
        return float("nan")
    growth = (end.reindex(start.index)[ok] / start[ok]) ** (MONTH_DAYS / days) - 1
    return float(growth.median())


@quantity(
    "per month",
    "firm-only variant: (followers at the end / followers 90 days earlier)^(30/90) - 1, mean over firms "
    "with followers; in part 1 a closed world where each firm starts with a share of all users, so not "
    "the published open-page quantity",
    "scale-sensitive: a firm in a 10,000-user world saturates its market",
    min_days=MONTH_DAYS,
)
def firm_follower_growth_per_month(tables: Tables) -> float:
    firms = tables["firms"]
    end = int(firms["step"].max())
    start = max(int(firms["step"].min()), end - LATE_DAYS)
    if end <= start:
        return float("nan")
    wide = firms.pivot_table(index="step", columns="firm", values="followers")
    first, last = wide.loc[start], wide.loc[end]
    ok = first > 0
    if not ok.any():
        return float("nan")
    growth = (last[ok] / first[ok]) ** (MONTH_DAYS / (end - start)) - 1
    return float(growth.mean())


# -- ads and negative feedback ---------------------------------------------------------------


@quantity(
    "share of ad impressions",
    "ad action rate: positive reactions to directly delivered ads / ads seen (impressions), last 90 days",
    "scale-free",
)
def ad_action_rate(tables: Tables) -> float:
    ads = settled_items(tables, ads=True)
    seen = ads["direct_seen"].sum()
    return float(ads["direct_positive"].sum() / seen) if seen else float("nan")


@quantity(
    "per impression",
    "negative reactions (negative comments) to the firms' items / the firms' impressions, every channel "
    "(posts, shares, ads, replies), last 90 days: the firms only, because the page table has no negative "
    "reactions per page yet",
    "scale-sensitive: the firms' ad counts are absolute, so their ads reach a smaller share of a larger world",
)
def negative_per_impression_firms(tables: Tables) -> float:
    firms = late_days(tables["firms"], run_days(tables))
    seen = firms["impressions"].sum()
    return float(firms["negative_comments"].sum() / seen) if seen else float("nan")


@quantity(
    "per impression",
    "negative reactions to every page's items / every page's impressions, every channel, whole run "
    "(the page table's negative_reactions and impressions)",
    "scale-free",
    market_only=True,
    needs=("pages",),
)
def negative_per_impression_pages(tables: Tables) -> float:
    pages = tables["pages"]
    seen = pages["impressions"].sum()
    return float(pages["negative_reactions"].sum() / seen) if seen else float("nan")


# -- posting frequency (the page market makes these testable) ---------------------------------


def _post_rates(tables: Tables) -> tuple[pd.Series, pd.DataFrame]:
    """Posts per 30 days of each page over the last 90 days (all its posts), and the settled posts
    with followers of that window (for their per-post figures)."""
    items = tables["cascades"]
    end = run_days(tables)
    days = min(LATE_DAYS, end)
    posts = items.loc[~items["is_ad"] & (items["day"] > end - days)]
    rate = posts.groupby("firm").size() * (MONTH_DAYS / days)
    settled = settled_items(tables, ads=False)
    return rate, settled.loc[settled["audience"] > 0]


def _class_ratio(tables: Tables, per_post: Callable[[pd.DataFrame], pd.Series]) -> float:
    rate, posts = _post_rates(tables)
    per_page = per_post(posts).groupby(posts["firm"].to_numpy()).mean()
    size = posts.groupby("firm")["audience"].mean()
    small = size.index[size < SMALL_PAGE]
    rate = rate.reindex(per_page.index.intersection(small))
    frequent = per_page[rate.index[rate > FREQUENT_PER_MONTH]]
    rare = per_page[rate.index[rate <= RARE_PER_MONTH]]
    if len(frequent) < MIN_CLASS_PAGES or len(rare) < MIN_CLASS_PAGES or rare.median() == 0:
        return float("nan")
    return float(frequent.median() / rare.median())


@quantity(
    "ratio",
    "engagement per post per follower (likes + positive comments + shares) of pages posting more than 60 "
    "times a month / that of pages posting at most 5 times, medians over the pages under 10,000 followers "
    "in each class; posting rates over the last 90 days (at least 3 pages in each class)",
    "scale-free as a ratio; the classes fill only in a market with many pages",
    min_days=MONTH_DAYS,
)
def frequent_vs_rare_engagement_per_post(tables: Tables) -> float:
    return _class_ratio(tables, engagement)


@quantity(
    "ratio",
    "organic reach per post (share of followers) of pages posting more than 60 times a month / that of "
    "pages posting at most 5 times, as frequent_vs_rare_engagement_per_post",
    "scale-free as a ratio; the classes fill only in a market with many pages",
    min_days=MONTH_DAYS,
)
def frequent_vs_rare_reach_per_post(tables: Tables) -> float:
    return _class_ratio(tables, lambda posts: posts["direct_seen"] / posts["audience"])


def _monthly_page_totals(tables: Tables) -> pd.DataFrame:
    """Per page: posts, organic reach (followers reached, summed over days) and mean followers, over the
    last 13 weeks of the weekly page table (the whole run from the page table if it is off)."""
    if has_table(tables, "pages_weekly"):
        weekly = tables["pages_weekly"]
        weekly = weekly.loc[weekly["week"] > weekly["week"].max() - GROWTH_WEEKS]
        return weekly.groupby("page").agg(posts=("posts", "sum"), reach=("organic_reach", "sum"),
                                          followers=("followers", "mean"))  # fmt: skip
    pages = tables["pages"]
    return pd.DataFrame({"posts": pages["posts"].to_numpy(), "reach": pages["organic_reach"].to_numpy(),
                         "followers": pages["followers_mean"].to_numpy()}, index=pages["page"])  # fmt: skip


@quantity(
    "elasticity",
    "elasticity of a page's monthly organic reach to its posting rate: the slope on log posts in the "
    "least-squares fit log reach = a + b log posts + c log followers across pages (followers held fixed), "
    "last 13 weeks; pages with posts, reach and followers (at least 10)",
    "scale-free as an elasticity; needs many pages",
    min_days=MONTH_DAYS,
    market_only=True,
    needs=("pages",),
)
def reach_frequency_elasticity(tables: Tables) -> float:
    totals = _monthly_page_totals(tables)
    totals = totals.loc[(totals > 0).all(axis=1)]
    if len(totals) < MIN_FIT_PAGES or totals["posts"].nunique() < 3:
        return float("nan")
    x = np.column_stack([np.ones(len(totals)), np.log(totals["posts"]), np.log(totals["followers"])])
    coefficients, *_ = np.linalg.lstsq(x, np.log(totals["reach"].to_numpy(float)), rcond=None)
    return float(coefficients[1])


@quantity(
    "ratio",
    "likes per post per follower on a page's days with two posts / on its days with one post, each page "
    "against itself: means over the pages that had both kinds of day (posts of the last 90 days)",
    "scale-free as a ratio",
)
def two_vs_one_post_likes(tables: Tables) -> float:
    items = settled_items(tables, ads=False)
    per_day = items.groupby(["firm", "day"])["day"].transform("size")
    posts = items.assign(n=per_day.to_numpy()).loc[lambda t: t["audience"] > 0]
    posts = posts.assign(rate=posts["likes"] / posts["audience"])
    table = posts.loc[posts["n"].isin([1, 2])].groupby(["firm", "n"])["rate"].mean().unstack("n")
    if 1 not in table or 2 not in table:
        return float("nan")
    both = table.dropna(subset=[1, 2])
    if both.empty or both[1].mean() == 0:
        return float("nan")
    return float(both[2].mean() / both[1].mean())


# -- evaluation -----------------------------------------------------------------


def too_short(quantities: Iterable[str], steps: int) -> dict[str, int]:
    """The quantities a run of ``steps`` days cannot measure, with the days each needs."""
    return {name: QUANTITIES[name].min_days for name in quantities
            if name in QUANTITIES and QUANTITIES[name].min_days > steps}  # fmt: skip


def compute_quantities(tables: Tables, names: Iterable[str] | None = None) -> dict[str, float]:
    """The named quantities (default: all) of ONE replication's tables."""
    names = list(QUANTITIES) if names is None else list(names)
    unknown = [n for n in names if n not in QUANTITIES]
    if unknown:
        raise KeyError(f"unknown model quantities {unknown}; known: {', '.join(QUANTITIES)}")
    return {name: QUANTITIES[name](tables) for name in names}


def split_replications(tables: Tables) -> dict[int, dict[str, pd.DataFrame]]:
    """{replication: tables of that replication}, every table given (the part-1 four and the market's);
    tables without a replication column are replication 0, or shared by every replication."""
    keys = [key for key in (*TABLES, *MARKET_TABLES) if name_present(tables, key)]
    reps: set[int] = set()
    for key in keys:
        if "replication" in tables[key].columns:
            reps |= set(tables[key]["replication"].unique().tolist())
    if not reps:
        return {0: {key: tables[key] for key in keys}}
    return {
        int(r): {key: tables[key].loc[tables[key]["replication"] == r] if "replication" in tables[key].columns
                 else tables[key] for key in keys}
        for r in sorted(reps)
    }  # fmt: skip


def quantities_by_replication(tables: Tables, names: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per replication, one column per quantity."""
    names = list(QUANTITIES) if names is None else list(names)
    rows = [{"replication": r, **compute_quantities(t, names)} for r, t in split_replications(tables).items()]
    return pd.DataFrame(rows, columns=["replication", *names])
