"""Set-up shared by the day benchmarks: one pinned core and numba's kernels loaded.

A sweep worker or a classroom server loads numba's cached kernels once per
process, not per model, so a benchmark of days loads them before it times
anything, by running a 5 x 5 world for two days.
"""

from __future__ import annotations

import os


def one_warm_core() -> None:
    """Pin this process to one CPU (the last one it may use) and load the model's compiled kernels."""
    os.sched_setaffinity(0, {max(os.sched_getaffinity(0))})
    from sim.model.market import MarketModel

    warm = MarketModel(seed=1, width=5, height=5, steps=2, weak_ties=3)
    while warm.running:
        warm.step()
