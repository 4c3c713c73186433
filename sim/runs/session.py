"""One scenario run, as every entry point does it: the replications and their provenance.

``python run.py``, ``python run.py validate`` and `sim.run_scenario` all run
a scenario's replications and record the same metadata (seeds of every
replication, workers, versions, git revision, the scenario's overrides,
wall times). `run_with_provenance` is that shared step, so the three cannot
drift apart; what each does with the replications (a results folder, a
validation folder, tables in memory) stays with it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sim.runs.compile_notice import announce_compiling
from sim.runs.provenance import base_metadata, utc_now
from sim.runs.runner import Replication, replication_seed, run_replications
from sim.scenario import Scenario
from sim.scenario.changes import scenario_changes


def run_with_provenance(
    scenario: Scenario,
    workers: int,
    on_done: Callable[[Replication], None] | None = None,
    started=None,
    **extra: Any,
) -> tuple[list[Replication], dict[str, Any]]:
    """Run the replications; return them with the run's metadata (``extra`` keys are added after the versions).

    ``started`` is the UTC start time the caller already used (e.g. in a folder name); default: now.
    """
    started = started or utc_now()
    clock = time.perf_counter()
    announce_compiling()
    reps = run_replications(scenario.model_kwargs(), scenario.seed, scenario.replications, workers, on_done=on_done)
    changes = scenario_changes(scenario)
    metadata = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "replication_seeds": [replication_seed(scenario.seed, r) for r in range(scenario.replications)],
        "workers": workers,
        **({"overrides": {c.key: c.value for c in changes.items}, "overrides_of": changes.source} if changes else {}),
        **base_metadata(),
        **extra,
        "started_utc": started.isoformat(),
        "finished_utc": utc_now().isoformat(),
        "wall_time_seconds": time.perf_counter() - clock,
        "wall_time_per_replication": [round(r.wall_time, 3) for r in reps],
    }
    return reps, metadata
