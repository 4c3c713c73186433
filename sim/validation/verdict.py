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


ON_THE_EDGE = "on the edge"
VERDICTS = ("inside", ON_THE_EDGE, "below", "above", "unmeasured")


def verdict(value: float, low: float, high: float, ci_low: float = math.nan, ci_high: float = math.nan) -> str:
    """Where ``value`` stands against the band [low, high]: 'inside', 'below', 'above', 'on the edge' or 'unmeasured'.

    With a 95% interval [ci_low, ci_high] the interval decides: wholly inside
    the band, wholly below or above it, or 'on the edge' when it crosses an
    edge of the band (a mean of 0.01617 with an interval reaching below a top
    of 0.0161 is not clearly above). Without one (a single replication) the
    value decides. NaN: 'unmeasured', nothing to measure in the run.
    """
    if value is None or math.isnan(value):
        return "unmeasured"
    if ci_low is not None and ci_high is not None and not (math.isnan(ci_low) or math.isnan(ci_high)) \
            and ci_low < ci_high:
        if ci_high < low:
            return "below"
        if ci_low > high:
            return "above"
        return "inside" if low <= ci_low and ci_high <= high else ON_THE_EDGE
    if value < low:
        return "below"
    if value > high:
        return "above"
    return "inside"


def ratio_to_bound(value: float, low: float, high: float) -> float:
    """value / the nearest bound the value misses: > 1 above the range, < 1 below it, 1 inside, NaN when unmeasured.

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
                "verdict": verdict(mean, fact.low, fact.high, low, high),
                "ratio_to_bound": ratio_to_bound(mean, fact.low, fact.high),
                "ci_overlaps_range": bool(n and not (high < fact.low or low > fact.high)),
                "scale_sensitive": fact.scale_sensitive,
                "source": fact.citation(),
            }
        )
    return pd.DataFrame(rows, columns=list(VALIDATION_COLUMNS))
