"""Output columns and per-run metrics computed from the tidy daily tables.

Pure functions of pandas tables, so the scenario runner, the sweep engine
and the tests compute early and late reach and the crossover day the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

FIRM_COLUMNS = (
    "step", "firm", "reach", "organic_reach", "paid_reach", "earned_reach", "reply_reach",
    "impressions", "delivered", "attention_loss", "likes", "comments", "negative_comments",
    "shares", "replies_sent", "deletions", "followers", "new_follows", "unfollows",
    "trust_mean", "trust_followers", "fatigue_followers", "spend", "cost_per_reach",
    "cumulative_reach", "second_contact_rate",
)  # fmt: skip

PLATFORM_COLUMNS = (
    "candidates", "seen_candidates", "background_items", "attention_used",
    "attention_capacity", "attention_used_share", "overload", "overloaded_share",
)  # fmt: skip

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
