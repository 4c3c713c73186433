"""Verdicts: the model's mean and 95% interval over replications against each published range."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from sim.runs.statistics import t_interval

VALIDATION_COLUMNS = (
    "fact", "quantity", "model_mean", "ci_low", "ci_high", "n", "range_low", "range_high",
    "verdict", "ratio_to_bound", "ci_overlaps_range", "scale_sensitive", "source",
)  # fmt: skip


def verdict(value: float, low: float, high: float) -> str:
    """'inside' when low <= value <= high, else 'below' or 'above'; 'unmeasured' for NaN (a word CSV readers keep)."""
    if value is None or math.isnan(value):
        return "unmeasured"
    if value < low:
        return "below"
    if value > high:
        return "above"
    return "inside"


def ratio_to_bound(value: float, low: float, high: float) -> float:
    """value / the nearest bound it misses: > 1 above the range, < 1 below it, 1 inside, NaN when unmeasured.

    Below a zero low bound (only possible for a negative value) the ratio is -inf.
    """
    found = verdict(value, low, high)
    if found == "unmeasured":
        return float("nan")
    if found == "inside":
        return 1.0
    bound = high if found == "above" else low
    if bound == 0:
        return math.copysign(math.inf, value)
    return value / bound


def compare(facts, values: pd.DataFrame) -> pd.DataFrame:
    """The validation table: one row per fact, from per-replication quantity values (one column each)."""
    rows = []
    for fact in facts.facts:
        column = values[fact.quantity].to_numpy(dtype=float) if fact.quantity in values else np.array([])
        mean, _, low, high, n = t_interval(column)
        if n == 1:
            low = high = mean
        rows.append(
            {
                "fact": fact.id,
                "quantity": fact.quantity,
                "model_mean": mean,
                "ci_low": low,
                "ci_high": high,
                "n": n,
                "range_low": fact.low,
                "range_high": fact.high,
                "verdict": verdict(mean, fact.low, fact.high),
                "ratio_to_bound": ratio_to_bound(mean, fact.low, fact.high),
                "ci_overlaps_range": bool(n and not (high < fact.low or low > fact.high)),
                "scale_sensitive": fact.scale_sensitive,
                "source": fact.citation(),
            }
        )
    return pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))
