"""Statistics across replications: means with 95% t-intervals kept within physical bounds, and paired contrasts.

Per-firm metrics get one row per firm; the crossover day, a pair metric (one
value per run: the day one firm overtakes the others for good), gets one row
for the whole market. An interval is cut to the metric's physical range
(for example 0..population users for reach): the true mean always lies in
that range, so the cut interval covers it exactly as often as the t-interval
did, and it no longer claims impossible values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

SUMMARY_METRICS = (  # per firm: a sweep asks for them as FIRM.metric
    "early_reach",
    "late_reach",
    "reach_per_spend",
    "followers_final",
    "trust_final",
    "max_cascade",
    "cumulative_reach_final",
)
PAIR_METRICS = ("crossover_day",)  # one value per run, shared by all firms
ALL_FIRMS = "(all firms)"  # the `firm` of a pair metric's row

# metric -> (unit, window, what it measures): the report's glossary and table labels
METRIC_INFO = {
    "early_reach": ("users/day", "days 1-30", "mean daily reach: users who saw the firm at least once that day, any channel"),
    "late_reach": ("users/day", "last 90 days", "mean daily reach, as early_reach"),
    "crossover_day": ("day", "whole run, 14-day trailing means",
                      "first day of the final leader's unbroken lead over every other firm in daily reach; "
                      "empty when no firm overtakes for good"),  # fmt: skip
    "reach_per_spend": ("user-days per budget unit", "whole run", "sum of daily reach over total spend; empty with no spend"),
    "followers_final": ("users", "last day", "users following the firm"),
    "trust_final": ("0-1", "last day", "mean trust in the firm of ALL users (the trust figure shows followers only)"),
    "max_cascade": ("shares", "whole run", "largest number of shares of one of the firm's posts or ad creatives"),
    "cumulative_reach_final": ("users", "whole run",
                               "users who saw the firm on at least one day; at most the population"),  # fmt: skip
}
COUNT_METRICS = ("early_reach", "late_reach", "followers_final", "max_cascade", "cumulative_reach_final")


def metric_bounds(metric: str, population: int | None = None, steps: int | None = None) -> tuple[float, float]:
    """The physical range of a metric's value (and so of its mean)."""
    if metric in COUNT_METRICS:
        return (0.0, float(population) if population else np.inf)
    if metric == "trust_final":
        return (0.0, 1.0)
    if metric == "crossover_day":
        return (1.0, float(steps) if steps else np.inf)
    return (0.0, np.inf)


def t_interval(
    values: np.ndarray, level: float = 0.95, bounds: tuple[float, float] = (-np.inf, np.inf)
) -> tuple[float, float, float, float, int]:
    """Mean, sample sd and the t-interval of the mean cut to ``bounds``; NaN bounds with fewer than two values."""
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
    low, high = bounds
    return (mean, sd, float(np.clip(mean - half, low, high)), float(np.clip(mean + half, low, high)), n)


def _row(firm: str, metric: str, values: np.ndarray, population, steps) -> dict:
    values = np.asarray(values, dtype=float)
    low_bound, high_bound = metric_bounds(metric, population, steps)
    mean, sd, low, high, n = t_interval(values, bounds=(low_bound, high_bound))
    unit = METRIC_INFO[metric][0]
    raw = t_interval(values)
    clipped = bool(n >= 2 and (raw[2] < low_bound or raw[3] > high_bound))
    return {"firm": firm, "metric": metric, "unit": unit, "n": n, "of": values.size, "mean": mean, "std": sd,
            "ci95_low": low, "ci95_high": high, "ci_clipped": clipped}  # fmt: skip


def summary_stats(summary: pd.DataFrame, population: int | None = None, steps: int | None = None) -> pd.DataFrame:
    """n, mean, sd and the 95% interval across replications: per firm and metric, then the pair metrics once.

    ``n`` counts the replications where the metric is defined (the crossover
    day is empty when no firm overtakes), ``of`` all replications;
    ``ci_clipped`` says the t-interval was cut to the metric's physical range
    (``population`` users, days 1..``steps``).
    """
    rows = [
        _row(firm, metric, group[metric].to_numpy(), population, steps)
        for firm, group in summary.groupby("firm", sort=False)
        for metric in SUMMARY_METRICS
    ]
    per_run = summary.groupby("replication", sort=True).first()
    rows += [_row(ALL_FIRMS, metric, per_run[metric].to_numpy(), population, steps) for metric in PAIR_METRICS
             if metric in per_run]  # fmt: skip
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
