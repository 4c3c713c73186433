"""The attention market as a calibration simulator: (parameter values, seed) -> each fact's model value.

A particle's values are put into the base configuration (dotted keys, as in
``--set``), the model runs ``replications`` times with seeds derived from
the particle's seed, and each fact's quantity is averaged over them (NaN
replications left out). Every model is released from Mesa's registries
after its run (`sim.runs.runner.release`, called by `run_replication`), so
a long-lived Dask worker does not keep thousands of models alive.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from sim.calibration.facts import Band
from sim.jobs.models import MarketSweepModel


class MarketSimulator:
    """simulate(values by dotted key, seed) -> {fact id: model value}."""

    def __init__(self, base: dict[str, Any], bands: list[Band], replications: int = 1):
        self.model = MarketSweepModel(base)
        self.bands = list(bands)
        self.replications = int(replications)

    def config(self, values: dict[str, Any]) -> dict[str, Any]:
        return self.model.config(values)

    def run(self, values: dict[str, Any], seed: int) -> list:
        """The replications of one particle (each released from Mesa after its run)."""
        from sim.runs.runner import replication_seed, run_replication

        config = self.config(values)
        return [run_replication(config, replication_seed(seed, r), r) for r in range(self.replications)]

    def __call__(self, values: dict[str, Any], seed: int) -> dict[str, float]:
        from sim.calibration.validation_api import fact_values

        per_rep = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # powerlaw's fits and empty windows warn; NaN says it
            for rep in self.run(values, seed):
                per_rep.append(fact_values(rep, self.bands))
            return {b.id: _nanmean([v[b.id] for v in per_rep]) for b in self.bands}


def _nanmean(values: list[float]) -> float:
    finite = [v for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")
