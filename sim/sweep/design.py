"""Designs: the points a sweep runs, drawn by SALib or laid out as a grid.

A design is a table with one row per design point (its ``sample`` index)
and one column per varied parameter, holding the value as the sampler drew
it. The design is a pure function of the sweep (the sampler gets the sweep's
seed), so it can be drawn again and checked against the stored one.
Each method's points come in blocks the analysis must keep together:
Sobol' (Saltelli) blocks of D + 2 rows (2D + 2 with second order), Morris
trajectories of D + 1 rows; grid and Latin hypercube points stand alone.
"""

from __future__ import annotations

import itertools
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from SALib.sample import latin
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample

from sim.sweep.spec import Sweep


@dataclass
class Design:
    """The design points (index: sample) and how they group for the analysis."""

    points: pd.DataFrame
    block: int
    notes: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.points)


def salib_problem(sweep: Sweep) -> dict:
    """SALib's problem dictionary of a bounds-based sweep."""
    return {
        "num_vars": len(sweep.parameters),
        "names": sweep.keys,
        "bounds": [list(p.bounds) for p in sweep.parameters],
    }


def block_size(sweep: Sweep) -> int:
    d = len(sweep.parameters)
    if sweep.method == "sobol":
        return 2 * d + 2 if sweep.second_order else d + 2
    if sweep.method == "morris":
        return d + 1
    return 1


def build_design(sweep: Sweep) -> Design:
    """Draw (or lay out) the design of a sweep; SALib warnings become notes."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if sweep.method == "grid":
            rows = list(itertools.product(*(p.values for p in sweep.parameters)))
            points = pd.DataFrame(rows, columns=sweep.keys)
        else:
            problem = salib_problem(sweep)
            if sweep.method == "sobol":
                x = sobol_sample.sample(problem, sweep.samples, calc_second_order=sweep.second_order, seed=sweep.seed)
            elif sweep.method == "morris":
                x = morris_sample.sample(problem, sweep.samples, num_levels=sweep.levels, seed=sweep.seed)
            else:
                x = latin.sample(problem, sweep.samples, seed=sweep.seed)
            points = pd.DataFrame(np.asarray(x, dtype=float), columns=sweep.keys)
    points.index = pd.RangeIndex(len(points), name="sample")
    notes = [f"SALib: {' '.join(str(w.message).split())}" for w in caught]
    return Design(points=points, block=block_size(sweep), notes=notes)


def applied_values(sweep: Sweep, design: Design) -> pd.DataFrame:
    """The values runs use at each design point (integer parameters rounded)."""
    table = design.points.copy()
    for p in sweep.parameters:
        table[p.key] = [p.applied(v) for v in design.points[p.key]]
    return table


def same_design(a: pd.DataFrame, b: pd.DataFrame) -> bool:
    """Whether two design tables hold the same points (floats compared exactly after a round trip)."""
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return False
    for column in a.columns:
        left, right = a[column].to_numpy(), b[column].to_numpy()
        if left.dtype.kind == "f" or right.dtype.kind == "f":
            if not np.array_equal(left.astype(float), right.astype(float), equal_nan=True):
                return False
        elif [str(v) for v in left] != [str(v) for v in right]:
            return False
    return True
