"""A finished sweep as `sim.run_sweep` returns it: the folder, the run counts and the analysed tables.

Everything here is read from the sweep's results folder (see `store`), the
same files ``python run.py sweep`` leaves, so a sweep run from a notebook
and one run from the command line are read the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from sim.sweep.analysis import Analysis
from sim.sweep.execute import Outcome


@dataclass(eq=False)
class SweepResults:
    """A sweep's folder and what its analysis found.

    - ``runs``: one row per run: run id, design point (``sample``), replication,
      seed, the values the run used for the varied parameters, every output, status.
    - ``design``: the design points as the sampler drew them.
    - ``tables``: output -> its analysed table (Sobol', Morris or delta indices,
      or a grid sweep's cell means); ``notes``: output -> what the analysis used.
    - ``noise``: the share of each output's variance that is replication noise.
    - ``folder``, ``report``, ``figures``: paths in the results folder.
    - ``outcome``: this session's counts (ok, failed, skipped as already done).
    """

    folder: Path
    outcome: Outcome
    analysis: Analysis
    report: Path

    @property
    def runs(self) -> pd.DataFrame:
        return self.analysis.runs

    @property
    def design(self) -> pd.DataFrame:
        return self.analysis.design

    @property
    def noise(self) -> pd.DataFrame:
        return self.analysis.noise

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        return {found.output: found.table for found in self.analysis.outputs if found.table is not None}

    @property
    def notes(self) -> dict[str, str]:
        return {found.output: found.note for found in self.analysis.outputs}

    @property
    def figures(self) -> list[Path]:
        return sorted((self.folder / "figures").glob("*.png"))

    @property
    def counts(self) -> dict[str, int]:
        """Runs in the folder: total, ok, failed, missing."""
        return dict(self.analysis.counts)

    def __repr__(self) -> str:
        c = self.counts
        return (
            f"<SweepResults {self.analysis.sweep['name']!r} ({self.analysis.sweep['method']}) in {self.folder}: "
            f"{c['ok']} of {c['total']} runs ok, {c['failed']} failed; .runs .tables .noise .report>"
        )
