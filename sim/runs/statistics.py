"""Statistics across replications: means with 95% t-intervals and paired contrasts."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

SUMMARY_METRICS = (
    "early_reach",
    "late_reach",
    "crossover_day",
    "reach_per_spend",
    "followers_final",
    "trust_final",
    "max_cascade",
    "cumulative_reach_final",
)


def t_interval(values: np.ndarray, level: float = 0.95) -> tuple[float, float, float, float, int]:
    """Mean, sample sd and the t-interval of the mean; NaN bounds with fewer than two values."""
    values = np.asarray(values, dtype=float)
    values = values[~np.isnan(values)]
    n = values.size
    if n == 0:
        return (np.nan, np.nan, np.nan, np.nan, 0)
    mean = float(values.mean())
    if n < 2:
        return (mean, np.nan, np.nan, np.nan, n)
    sd = float(values.std(ddof=1))
    half = float(stats.t.ppf(0.5 + level / 2, n - 1) * sd / np.sqrt(n))
    return (mean, sd, mean - half, mean + half, n)


def summary_stats(summary: pd.DataFrame) -> pd.DataFrame:
    """One row per firm and metric: n, mean, sd and the 95% interval across replications."""
    rows = []
    for firm, group in summary.groupby("firm", sort=False):
        for metric in SUMMARY_METRICS:
            mean, sd, low, high, n = t_interval(group[metric].to_numpy())
            rows.append({"firm": firm, "metric": metric, "n": n, "mean": mean, "std": sd, "ci95_low": low, "ci95_high": high})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Lead:
    """Who leads on a metric, and by how much (paired over replications)."""

    metric: str
    leader: str
    runner_up: str
    gap: float
    ci_low: float
    ci_high: float
    n: int

    @property
    def significant(self) -> bool:
        return bool(self.ci_low > 0)


def lead(summary: pd.DataFrame, metric: str) -> Lead | None:
    """The firm with the highest mean on ``metric`` against the next, with a paired 95% CI."""
    wide = summary.pivot(index="replication", columns="firm", values=metric)
    if wide.shape[1] < 2:
        return None
    ranking = wide.mean().sort_values(ascending=False)
    leader, runner_up = ranking.index[0], ranking.index[1]
    mean, _, low, high, n = t_interval((wide[leader] - wide[runner_up]).to_numpy())
    return Lead(metric, leader, runner_up, mean, low, high, n)
