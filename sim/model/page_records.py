"""The market's page outputs (MARKET_SPEC.md, "Outputs added"): the page table and the weekly page series.

Pages are the firms (first) and the background pages. Each day the model
hands over one row of counts per page (posts, followers at the day's end,
organic reach, impressions, follows by channel, unfollows by cause); this
keeps run totals and weekly sums, and builds the tables at the end with the
per-post ratios taken from the item counters. Nothing here draws numbers or
feeds back into the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.model.mechanics import AD

DAY_COLUMNS = ("posts", "followers", "organic_reach", "impressions", "follows_reaction", "follows_discovery",
               "unfollows_fatigue", "unfollows_negative", "unfollows_deleted", "positive_reactions",
               "negative_reactions")  # fmt: skip
POSTS, FOLLOWERS, ORGANIC, IMPRESSIONS = 0, 1, 2, 3
WEEK = 7


class PageRecorder:
    """Run totals and weekly sums of the per-page daily counts."""

    def __init__(self, followers_start: np.ndarray, steps: int, weekly: bool):
        n = followers_start.shape[0]
        self.followers_start = followers_start.astype(np.int64)
        self.totals = np.zeros((n, len(DAY_COLUMNS)), np.int64)
        self.last = np.zeros((n, len(DAY_COLUMNS)), np.int64)
        self.days = 0
        self.weekly = weekly
        self._weeks = np.zeros(((steps + WEEK - 1) // WEEK if weekly else 0, 4, n), np.int64)

    def add_day(self, day: np.ndarray) -> None:
        """One day's counts, shape (pages, DAY_COLUMNS); followers are the day's end."""
        self.totals += day
        self.last = day
        if self.weekly:
            week = self.days // WEEK
            if week == self._weeks.shape[0]:
                self._weeks = np.concatenate([self._weeks, np.zeros((1, *self._weeks.shape[1:]), np.int64)])
            block = self._weeks[week]
            block[0] = day[:, FOLLOWERS]  # the last day of the week overwrites
            block[1] += day[:, POSTS]
            block[2] += day[:, ORGANIC]
            block[3] += day[:, IMPRESSIONS]
        self.days += 1

    def table(self, names, is_firm, parameters: dict, items: dict, item_page: np.ndarray,
              q: np.ndarray, h: np.ndarray) -> pd.DataFrame:
        """One row per page: drawn parameters, posts, followers, follows, unfollows, reach and engagement per post."""
        n = self.totals.shape[0]
        days = max(1, self.days)
        posts = (items["kind"] != AD) & (items["audience"] > 0)  # posts made with no followers are left out
        page = item_page[posts]
        audience = items["audience"][posts].astype(np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            n_posts = np.bincount(page, minlength=n)
            reach = np.bincount(page, items["direct_seen"][posts] / audience, minlength=n) / n_posts
            engagement = np.bincount(page, items["likes"][posts] / audience, minlength=n) / n_posts
        table = pd.DataFrame({"page": np.arange(n), "name": names, "is_firm": is_firm, **parameters})
        for k, column in enumerate(DAY_COLUMNS):
            if column != "followers":
                table[column] = self.totals[:, k]
        table["followers_start"] = self.followers_start
        table["followers_end"] = self.last[:, FOLLOWERS]
        table["followers_mean"] = self.totals[:, FOLLOWERS] / days
        table["organic_reach_mean"] = self.totals[:, ORGANIC] / days
        table["organic_reach_per_post"] = reach
        table["engagement_per_post"] = engagement
        table["posts_per_day"] = table["posts"] / days
        table["q_final"] = q
        table["h_final"] = h
        return table

    def weekly_table(self, names) -> pd.DataFrame:
        """Per page and week: followers at the week's end; posts, organic reach and impressions summed."""
        weeks, _, n = self._weeks.shape
        used = min(weeks, (self.days + WEEK - 1) // WEEK)
        block = self._weeks[:used]
        return pd.DataFrame({
            "week": np.repeat(np.arange(1, used + 1), n),
            "page": np.tile(np.arange(n), used),
            "name": np.tile(np.asarray(names, dtype=object), used),
            "followers": block[:, 0].reshape(-1),
            "posts": block[:, 1].reshape(-1),
            "organic_reach": block[:, 2].reshape(-1),
            "impressions": block[:, 3].reshape(-1),
        })  # fmt: skip
