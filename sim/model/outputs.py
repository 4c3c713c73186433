"""Output columns and per-run metrics computed from the tidy daily tables.

Pure functions of pandas tables, so the scenario runner, the sweep engine
and the tests compute early and late reach and the crossover day the same way.
"""

from __future__ import annotations

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


def crossover_day(reach: pd.DataFrame) -> float:
    """First day of the final leader's unbroken lead, on 14-day trailing means.

    The final leader is the firm strictly ahead on the last day. The value is
    defined only if that leader was behind or tied at some earlier day;
    otherwise (or with a tie on the last day) it is NaN.
    """
    if reach.shape[1] < 2 or reach.empty:
        return float("nan")
    trailing = reach.rolling(TRAILING_DAYS, min_periods=1).mean().to_numpy()
    last = trailing[-1]
    leader = int(np.argmax(last))
    others = np.delete(trailing, leader, axis=1)
    leads = trailing[:, leader] > others.max(axis=1)
    if not leads[-1]:
        return float("nan")
    behind = np.flatnonzero(~leads)
    if behind.size == 0:
        return float("nan")
    return float(reach.index[behind[-1] + 1])


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
