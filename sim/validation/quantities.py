"""Model quantities: named functions of one replication's tables.

Each quantity takes ``tables``, a mapping with the tidy tables of one run:
``firms`` (per firm and day), ``platform`` (per day), ``cascades`` (per
item, with its exposure and reaction counters) and ``follow_events``
(follow relations at set-up, follows and unfollows). It returns one float,
NaN when the run has nothing to measure it on. The functions are scale-free
ratios where they can be; each says in ``scale`` whether the world's size
moves it.

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

Tables = Mapping[str, pd.DataFrame]


@dataclass(frozen=True)
class Quantity:
    """A named model quantity: its function, unit, definition and scale sensitivity."""

    name: str
    function: Callable[[Tables], float]
    unit: str
    description: str
    scale: str
    min_days: int = 1  # a shorter run cannot measure it: NaN ("unmeasured"), and calibration refuses the fact

    def __call__(self, tables: Tables) -> float:
        if last_step(tables) < self.min_days:
            return float("nan")
        return float(self.function(tables))


QUANTITIES: dict[str, Quantity] = {}


def quantity(unit: str, description: str, scale: str, min_days: int = 1):
    """Register a function of one replication's tables as a named quantity (measurable from ``min_days`` days)."""

    def register(function: Callable[[Tables], float]) -> Callable[[Tables], float]:
        QUANTITIES[function.__name__] = Quantity(function.__name__, function, unit, description, scale, min_days)
        return function

    return register


# -- helpers ------------------------------------------------------------------


def last_step(tables: Tables) -> int:
    return int(tables["firms"]["step"].max())


def settled_items(tables: Tables, ads: bool | None) -> pd.DataFrame:
    """Items of the last 90 days that can no longer be shared (published >= SETTLE_DAYS before the end)."""
    items = tables["cascades"]
    end = last_step(tables)
    keep = (items["day"] > end - LATE_DAYS) & (items["day"] <= end - SETTLE_DAYS)
    if not keep.any():  # a short run: every item
        keep = pd.Series(True, index=items.index)
    if ads is not None:
        keep &= items["is_ad"] == ads
    return items.loc[keep]


def mean_over_firms(per_item: pd.Series, firms: pd.Series) -> float:
    """Each firm's mean over its items, then the mean over firms (each firm is one 'page')."""
    if per_item.empty:
        return float("nan")
    return float(per_item.groupby(firms.to_numpy()).mean().mean())


def late_days(table: pd.DataFrame, end: int) -> pd.DataFrame:
    return table.loc[table["step"] > end - LATE_DAYS]


# -- the quantities -----------------------------------------------------------


@quantity(
    "share of followers",
    "organic reach per post: followers who saw the post in their feed on its day / followers when it was "
    "published; mean over posts of each firm, then over firms (posts of the last 90 days)",
    "scale-free in the world's size, but depends on attention and on how many pages users follow",
)
def organic_reach_per_post(tables: Tables) -> float:
    posts = settled_items(tables, ads=False)
    posts = posts.loc[posts["audience"] > 0]
    return mean_over_firms(posts["direct_seen"] / posts["audience"], posts["firm"])


@quantity(
    "share of eligible items",
    "items shown / items eligible: attention used (seen firm items + background items read) over "
    "background items + firm candidates, platform-wide, last 90 days",
    "scale-free: a per-user ratio summed over users",
)
def feed_shown_share(tables: Tables) -> float:
    platform = late_days(tables["platform"], last_step(tables))
    eligible = (platform["background_items"] + platform["candidates"]).sum()
    return float(platform["attention_used"].sum() / eligible) if eligible else float("nan")


@quantity(
    "per post per follower",
    "engagement rate: (likes + positive comments + shares) a post received through any channel / "
    "followers when it was published; mean over posts of each firm, then over firms",
    "mostly scale-free; shares reach non-followers, so it grows a little with the share network",
)
def engagement_per_post_per_follower(tables: Tables) -> float:
    posts = settled_items(tables, ads=False)
    posts = posts.loc[posts["audience"] > 0]
    rate = (posts["likes"] + posts["comments"] + posts["cascade_size"]) / posts["audience"]
    return mean_over_firms(rate, posts["firm"])


@quantity(
    "share of posts",
    "cascades of size 1: posts nobody shared (the post is the seed, size = 1 + all shares it caused)",
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
    items = items.loc[items["day"] <= last_step(tables) - SETTLE_DAYS]
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


@quantity(
    "share of active users",
    "users who unfollowed at least one firm in the last 51 days / users who followed at least one firm "
    "at some time in those 51 days",
    "scale-sensitive: budgets and ad counts are absolute, so a larger world has a smaller share of users "
    "touched (and fatigued) by each firm; users can unfollow only the few simulated firms",
    min_days=UNFOLLOW_WINDOW,
)
def unfollow_share_51d(tables: Tables) -> float:
    events = tables["follow_events"]
    end = last_step(tables)
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
    "per month",
    "follower growth per 30 days: (followers at the end / followers 90 days earlier)^(30/90) - 1, "
    "mean over firms with followers",
    "scale-sensitive: a firm in a 10,000-user world saturates its market; real pages grow in a far larger one",
    min_days=MONTH_DAYS,
)
def follower_growth_per_month(tables: Tables) -> float:
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
    """{replication: tables of that replication}; tables without a replication column are replication 0."""
    keys = ("firms", "platform", "cascades", "follow_events")
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
