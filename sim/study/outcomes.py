"""From stored runs to the answer: replications averaged, winners, contested points, shares.

A design point's replications are averaged first; its winner is the firm
with the higher mean (late or early) reach. A point whose replications
disagree on the winner is *contested*: it is counted as such, never forced
to a side. The shares of the region come with Wilson score intervals
(binomial, over design points).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.stats import binomtest

from sim.study.model import FIRM_METRICS, TIE
from sim.sweep.tasks import STATUS_OK

CONTESTED = "contested"
NO_CROSSOVER, CROSSOVER = "no crossover", "crossover"
# outcome -> (per-run label column, per-run reach metric whose means decide the point)
HEADLINES = {"late": ("winner", "late_reach"), "early": ("early_winner", "early_reach")}
CONF_LEVEL = 0.95


def point_table(runs: pd.DataFrame, keys: list[str], firms: list[str], replications: int) -> pd.DataFrame:
    """One row per design point: parameter values, replication means, labels; only complete points.

    A point is complete when all its replications are stored and ok; a partial
    study analyses the complete ones (`incomplete_points` counts the rest).
    """
    ok = runs[runs["status"] == STATUS_OK] if len(runs) else runs
    if ok.empty:
        return pd.DataFrame(columns=["sample", *keys, "replications", "late", "early", "crossover"])
    counts = ok.groupby("sample")["run_id"].nunique()
    complete = counts.index[counts >= replications]
    ok = ok[ok["sample"].isin(complete)]
    numeric = [f"{f}.{m}" for f in firms for m in FIRM_METRICS] + ["late_reach_gap", "early_reach_gap", "crossover_day"]
    grouped = ok.groupby("sample", sort=True)
    table = grouped[keys].first().join(grouped[numeric].mean())
    table["replications"] = grouped["run_id"].nunique()
    for outcome, (label, metric) in HEADLINES.items():
        means = table[[f"{f}.{metric}" for f in firms]].set_axis(firms, axis=1)
        mean_winner = means.apply(_leader, axis=1)
        flips = grouped[label].nunique() > 1
        table[outcome] = mean_winner.where(~flips, CONTESTED)
    has = ok.assign(has=ok["crossover_day"].notna()).groupby("sample")["has"]
    table["crossover"] = np.where(has.all(), CROSSOVER, np.where(~has.any(), NO_CROSSOVER, CONTESTED))
    table["crossover_day"] = grouped["crossover_day"].mean()
    return table.reset_index()


def _leader(row: pd.Series) -> str:
    top = row[row == row.max()]
    return str(top.index[0]) if len(top) == 1 else TIE


def incomplete_points(runs: pd.DataFrame, replications: int) -> int:
    """Design points with some but not all replications stored ok."""
    if runs.empty:
        return 0
    counts = runs[runs["status"] == STATUS_OK].groupby("sample")["run_id"].nunique()
    return int(((counts > 0) & (counts < replications)).sum())


def wilson(k: int, n: int, level: float = CONF_LEVEL) -> tuple[float, float]:
    """Wilson score interval of a binomial share k/n (NaN without points)."""
    if n == 0:
        return float("nan"), float("nan")
    ci = binomtest(int(k), int(n)).proportion_ci(confidence_level=level, method="wilson")
    return float(ci.low), float(ci.high)


def answer_table(points: pd.DataFrame, firms: list[str]) -> pd.DataFrame:
    """answer.csv: per outcome (late, early), the share of points each firm wins, ties and contested."""
    rows = []
    n = len(points)
    for outcome in HEADLINES:
        labels = points[outcome] if n else pd.Series(dtype=str)
        extra = [TIE] if (labels == TIE).any() else []
        for label in [*firms, *extra, CONTESTED]:
            k = int((labels == label).sum())
            low, high = wilson(k, n)
            rows.append({"outcome": outcome, "firm": label, "share": k / n if n else float("nan"),
                         "ci_low": low, "ci_high": high, "n": n, "wins": k})  # fmt: skip
    return pd.DataFrame(rows, columns=["outcome", "firm", "share", "ci_low", "ci_high", "n", "wins"])


def discovery_labels(points: pd.DataFrame, outcome: str, firms: list[str]) -> tuple[pd.Series, list[str]]:
    """The class of each point that scenario discovery explains, and the classes that get a PRIM box.

    ``winner`` and ``late_reach_gap`` both split the region by who leads on
    late reach (the gap is positive exactly where the second firm wins);
    ``early_winner`` and ``early_reach_gap`` on early reach; ``crossover_day``
    by whether the final leader overtook the other at all.
    """
    if outcome in ("winner", "late_reach_gap"):
        return points["late"], list(firms)
    if outcome in ("early_winner", "early_reach_gap"):
        return points["early"], list(firms)
    return points["crossover"], [CROSSOVER, NO_CROSSOVER]
