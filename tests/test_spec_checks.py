"""The spec's statistical checks, on the default 100 x 100 world, over replications.

Each claim is tested on the mean over REPLICATIONS seeds with a one-sided
95% t-interval: the claimed difference must be positive at its lower bound.
"""

from __future__ import annotations

import functools

import numpy as np
import pytest
from scipy import stats

from sim.model.market import MarketModel
from sim.model.outputs import run_summary

REPLICATIONS = 5
SEEDS = range(1000, 1000 + REPLICATIONS)


@functools.cache
def summaries(**overrides) -> tuple:
    rows = []
    for seed in SEEDS:
        model = MarketModel(seed=seed, **overrides)
        while model.running:
            model.step()
        rows.append(run_summary(model.firm_table()).set_index("firm"))
    return tuple(rows)


def metric(rows, firm, column) -> np.ndarray:
    return np.array([r.loc[firm, column] for r in rows])


def lower_bound(differences: np.ndarray) -> float:
    """One-sided 95% lower confidence bound of the mean difference."""
    n = differences.size
    return differences.mean() - stats.t.ppf(0.95, n - 1) * differences.std(ddof=1) / np.sqrt(n)


def test_default_broadcast_leads_early_and_dialogue_leads_late():
    rows = summaries()
    early = metric(rows, "broadcast", "early_reach") - metric(rows, "dialogue", "early_reach")
    late = metric(rows, "dialogue", "late_reach") - metric(rows, "broadcast", "late_reach")
    assert lower_bound(early) > 0, early
    assert lower_bound(late) > 0, late


def test_chronological_ranking_lets_broadcast_lead_late_too():
    rows = summaries(ranking="chronological")
    late = metric(rows, "broadcast", "late_reach") - metric(rows, "dialogue", "late_reach")
    assert lower_bound(late) > 0, late


def test_without_fatigue_broadcast_late_reach_at_least_doubles():
    default = metric(summaries(), "broadcast", "late_reach")
    no_fatigue = metric(summaries(fatigue_gain=0.0), "broadcast", "late_reach")
    # the same seeds give paired worlds; the ratio's lower bound must be at least 2
    assert lower_bound(no_fatigue - 2 * default) > 0, (no_fatigue, default)


@pytest.mark.slow
def test_default_contrast_holds_over_many_seeds():
    rows = []
    for seed in range(40):
        model = MarketModel(seed=seed)
        while model.running:
            model.step()
        rows.append(run_summary(model.firm_table()).set_index("firm"))
    late = metric(rows, "dialogue", "late_reach") - metric(rows, "broadcast", "late_reach")
    assert np.mean(late > 0) >= 0.9
