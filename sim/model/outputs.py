"""Output columns and per-run metrics computed from the tidy daily tables.

Pure functions of pandas tables, so the scenario runner, the sweep engine
and the tests compute early and late reach and the crossover day the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numba import njit

FIRM_COLUMNS = (
    "step", "firm", "reach", "organic_reach", "paid_reach", "earned_reach", "reply_reach",
    "impressions", "delivered", "attention_loss", "likes", "comments", "negative_comments",
    "shares", "replies_sent", "deletions", "followers", "new_follows", "unfollows",
    "trust_mean", "trust_followers", "fatigue_followers", "spend", "cost_per_reach",
    "cumulative_reach", "second_contact_rate",
    # MARKET_SPEC.md, "Outputs added": unfollows by cause, users who newly hid the firm's ads, and the mean
    # change of trust of yesterday's commenters from the start of yesterday to the end of today
    "unfollows_fatigue", "unfollows_negative", "unfollows_deleted", "ads_hidden_new",
    "commenter_trust_change_answered", "commenter_trust_change_unanswered",
)  # fmt: skip

PLATFORM_COLUMNS = (
    "candidates", "seen_candidates", "background_items", "attention_used",
    "attention_capacity", "attention_used_share", "overload", "overloaded_share",
    # MARKET_SPEC.md: follows and unfollows of all pages and of background pages alone, friends' posts
    # offered and read, and the shown share (items seen / eligible items, friends' posts included)
    "follows", "unfollows", "follows_background", "unfollows_background", "friend_posts", "friend_posts_seen",
    "shown_share",
    # for the unfollow figure (Kwak et al. 2011): users following any page, users who unfollowed any page in
    # the last 51 days (today included)
    "users_following", "users_unfollowed_51d",
)  # fmt: skip
PLATFORM_COUNTS = (*PLATFORM_COLUMNS[:5], *PLATFORM_COLUMNS[8:14], *PLATFORM_COLUMNS[15:])  # the rest are shares
UNFOLLOW_WINDOW = 51  # days

EARLY_DAYS = 30  # early reach: mean daily reach over days 1-30
LATE_DAYS = 90  # late reach: mean daily reach over the last 90 days
TRAILING_DAYS = 14  # window of the trailing mean behind the crossover day


def reach_matrix(firm_table: pd.DataFrame) -> pd.DataFrame:
    """Daily reach as a (step x firm) table, firms in order of appearance."""
    firms = list(dict.fromkeys(firm_table["firm"]))
    return firm_table.pivot(index="step", columns="firm", values="reach")[firms].sort_index()


def early_reach(reach: pd.DataFrame) -> pd.Series:
    """Mean daily reach over days 1-30 (all days if the run is shorter)."""
    return reach.loc[reach.index <= EARLY_DAYS].mean()


def late_reach(reach: pd.DataFrame) -> pd.Series:
    """Mean daily reach over the last 90 days (all days if the run is shorter)."""
    return reach.iloc[-LATE_DAYS:].mean()


@dataclass(frozen=True)
class Crossover:
    """Who overtook whom for good, and on which day (a pair metric: one value per run, not per firm).

    ``day`` is NaN when no firm overtakes for good; ``leader`` is then the
    final leader if there is one (else None) and ``overtaken`` is None.
    """

    day: float
    leader: str | None
    overtaken: str | None


def crossover(reach: pd.DataFrame) -> Crossover:
    """The crossover of a run with any number of firms, on 14-day trailing means of daily reach.

    The final leader is the firm strictly ahead of every other firm on the
    last day. The crossover day is the first day of its unbroken lead over
    all of them to the end of the run: the day after the last day on which
    it was not strictly ahead of every other firm. It is defined only if
    such a day exists (the leader was behind or tied at some point), and
    not with a tie on the last day or fewer than two firms. With two firms
    this is the spec's rule (one firm's trailing mean overtakes the
    other's for good); with three or more, the final leader has to pass
    every rival, and ``overtaken`` names the one that was ahead of it (or
    tied, the highest) on the day before the crossover.
    """
    if reach.shape[1] < 2 or reach.empty:
        return Crossover(float("nan"), None, None)
    trailing = reach.rolling(TRAILING_DAYS, min_periods=1).mean().to_numpy()
    leader = int(np.argmax(trailing[-1]))
    others = np.delete(trailing, leader, axis=1)
    leads = trailing[:, leader] > others.max(axis=1)
    if not leads[-1]:
        return Crossover(float("nan"), None, None)
    name = str(reach.columns[leader])
    behind = np.flatnonzero(~leads)
    if behind.size == 0:
        return Crossover(float("nan"), name, None)
    rivals = [str(c) for k, c in enumerate(reach.columns) if k != leader]
    overtaken = rivals[int(np.argmax(others[behind[-1]]))]
    return Crossover(float(reach.index[behind[-1] + 1]), name, overtaken)


def crossover_day(reach: pd.DataFrame) -> float:
    """The crossover day of a run (see `crossover`); NaN when no firm overtakes for good."""
    return crossover(reach).day


def run_summary(firm_table: pd.DataFrame, cascades: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per firm: early and late reach, crossover day, reach per spend, finals."""
    reach = reach_matrix(firm_table)
    grouped = firm_table.groupby("firm", sort=False)
    last = firm_table.loc[firm_table["step"] == firm_table["step"].max()].set_index("firm")
    spend = grouped["spend"].sum()
    summary = pd.DataFrame(
        {
            "early_reach": early_reach(reach),
            "late_reach": late_reach(reach),
            "crossover_day": crossover_day(reach),
            "reach_per_spend": grouped["reach"].sum() / spend.where(spend > 0),
            "followers_final": last["followers"],
            "trust_final": last["trust_mean"],
            "cumulative_reach_final": last["cumulative_reach"],
        }
    )
    if cascades is not None:
        biggest = cascades.groupby("firm")["cascade_size"].max()
        summary["max_cascade"] = biggest.reindex(summary.index).fillna(0).astype(int)
    summary.index.name = "firm"
    return summary.reset_index()


# --------------------------------------------------------------------------
# Validation counters: per-item exposure and reactions, follow events
# --------------------------------------------------------------------------

ITEM_COUNTER_COLUMNS = ("audience", "direct_seen", "direct_positive", "seen", "likes", "comments")
FOLLOW_EVENT_COLUMNS = ("step", "user", "firm", "event")
FOLLOW_EVENTS = ("initial", "follow", "unfollow")


class ValidationRecorder:
    """Counters the validation against published figures needs, kept out of the mechanics.

    Per item (post or ad creative): ``audience`` (direct deliveries on its
    day: followers for a post, targets for an ad), ``direct_seen`` and
    ``direct_positive`` (seen / liked through that direct channel),
    ``seen``, ``likes`` and ``comments`` through any channel (shares
    included). Per (user, firm): every follow relation at set-up (step 0),
    every new follow and every unfollow, with its day. The model calls the
    four ``on_*`` methods where the events happen; nothing here draws random
    numbers or feeds back into the model.
    """

    def __init__(self, n_firms: int):
        self.n_firms = n_firms
        self._counts = {name: np.zeros(64, dtype=np.int64) for name in ITEM_COUNTER_COLUMNS}
        self._events: list[tuple[int, np.ndarray, int]] = []

    def _fit(self, n_items: int) -> None:
        size = self._counts["audience"].shape[0]
        if n_items <= size:
            return
        cap = max(n_items, 2 * size)
        for name, old in self._counts.items():
            new = np.zeros(cap, dtype=np.int64)
            new[:size] = old
            self._counts[name] = new

    def on_publish(self, item_ids: np.ndarray, audience: int) -> None:
        """New items of one firm and day, each delivered directly to ``audience`` users."""
        item_ids = np.asarray(item_ids, dtype=np.int64)
        if item_ids.size:
            self._fit(int(item_ids.max()) + 1)
            self._counts["audience"][item_ids] = audience

    def on_publish_many(self, item_ids: np.ndarray, audiences: np.ndarray) -> None:
        """New items of several pages, item k delivered directly to ``audiences[k]`` users."""
        if item_ids.size:
            self._fit(int(item_ids.max()) + 1)
            self._counts["audience"][item_ids] = audiences

    def counters(self, n_items: int) -> dict[str, np.ndarray]:
        """The writable counter arrays, holding at least ``n_items`` items (the market's kernel adds into them)."""
        self._fit(n_items)
        return self._counts

    def on_seen(self, item: np.ndarray, direct: np.ndarray, positive: np.ndarray, comment: np.ndarray) -> None:
        """Seen candidates (replies, item -1, are skipped) and their reactions."""
        if item.size == 0:
            return
        self._fit(int(item.max()) + 1)
        c = self._counts
        _count_seen(item, direct, positive, comment, c["seen"], c["likes"], c["comments"], c["direct_seen"],
                    c["direct_positive"])  # fmt: skip

    def on_follow_change(self, step: int, pairs: np.ndarray, event: str) -> None:
        """(user * F + firm) pairs that started or stopped following on ``step``."""
        pairs = np.asarray(pairs, dtype=np.int64)
        if pairs.size:
            self._events.append((step, pairs, FOLLOW_EVENTS.index(event)))

    def item_columns(self, n_items: int) -> dict[str, np.ndarray]:
        """The counters of items 0 .. n_items-1, as columns."""
        self._fit(n_items)
        return {name: values[:n_items].copy() for name, values in self._counts.items()}

    def follow_events(self, firm_names: list[str]) -> pd.DataFrame:
        """One row per follow relation at set-up, new follow or unfollow: step, user, firm, event."""
        if not self._events:
            return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(FOLLOW_EVENT_COLUMNS, ("int64", "int64", "object", "object"))})
        steps = np.concatenate([np.full(p.size, s, dtype=np.int64) for s, p, _ in self._events])
        pairs = np.concatenate([p for _, p, _ in self._events])
        codes = np.concatenate([np.full(p.size, e, dtype=np.int8) for _, p, e in self._events])
        user, firm = np.divmod(pairs, self.n_firms)
        return pd.DataFrame(
            {
                "step": steps,
                "user": user,
                "firm": np.asarray(firm_names, dtype=object)[firm],
                "event": np.asarray(FOLLOW_EVENTS, dtype=object)[codes],
            }
        )


@njit(cache=True)
def _count_seen(item, direct, positive, comment, seen, likes, comments, direct_seen, direct_positive):
    """Add each seen candidate with an item (not a reply, -1) to its item's counters."""
    for c in range(item.shape[0]):
        i = item[c]
        if i < 0:
            continue
        seen[i] += 1
        likes[i] += positive[c]
        comments[i] += comment[c]
        direct_seen[i] += direct[c]
        direct_positive[i] += direct[c] and positive[c]
