"""The attention-market simulation, for notebooks and scripts: load a scenario, run it, sweep it.

    import sim
    scenario = sim.load_scenario(overrides={"attention_mean": 10})
    results = sim.run_scenario(scenario, replications=3, seed=1)
    results.summary                      # the tables of a results folder, as DataFrames
    results.save("results/my-run")       # ... and the folder itself
    model = sim.MarketModel.from_scenario(scenario, seed=1)
    sim.run_sweep("scenarios/sweeps/grid_attention_pages.yaml")

The names are imported on first use, so ``import sim`` (and the command
line's ``--help``) stays fast. docs/api.md walks through every call.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# public name -> module that defines it
_EXPORTS = {
    "load_scenario": "sim.api",
    "run_scenario": "sim.api",
    "run_sweep": "sim.api",
    "DEFAULT_SCENARIO": "sim.api",
    "MarketModel": "sim.model.market",
    "Scenario": "sim.scenario",
    "ScenarioError": "sim.scenario",
    "RunResults": "sim.runs.run_results",
    "SweepResults": "sim.sweep.sweep_results",
    "SweepError": "sim.sweep.spec",
    "replication_seed": "sim.runs.runner",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # for editors and type checkers; at run time the names load lazily
    from sim.api import DEFAULT_SCENARIO, load_scenario, run_scenario, run_sweep
    from sim.model.market import MarketModel
    from sim.runs.run_results import RunResults
    from sim.runs.runner import replication_seed
    from sim.scenario import Scenario, ScenarioError
    from sim.sweep.spec import SweepError
    from sim.sweep.sweep_results import SweepResults


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'sim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
