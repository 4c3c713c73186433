"""Runs as pure tasks: seeds, run ids and the one row each run returns.

Run (sample s, replication r) of a sweep with seed S runs with the seed
``SeedSequence([S, s, r])`` derives, so a result never depends on how many
workers run or in which order they finish. Its run id hashes the parameter
values, that seed and the run length: re-running the same sweep finds the
runs it already has. `execute_task` is what a Dask worker executes: it
never raises; a failing model run comes back as a row with status
``failed``, its error and traceback.
"""

from __future__ import annotations

import hashlib
import json
import time
import traceback
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.jobs.errors import one_line
from sim.sweep.design import Design, applied_values
from sim.sweep.spec import Sweep, SweepError

STATUS_OK, STATUS_FAILED = "ok", "failed"
ID_COLUMNS = ("run_id", "sample", "replication", "seed")
TAIL_COLUMNS = ("wall_time", "status", "error", "traceback")


def run_seed(seed: int, sample: int, replication: int) -> int:
    """The seed of one run: a 63-bit integer from SeedSequence([seed, sample, replication])."""
    state = np.random.SeedSequence([seed, sample, replication]).generate_state(2, dtype=np.uint32)
    return int((int(state[0]) << 31) ^ int(state[1]))


def run_id(params: dict[str, Any], seed: int, steps: int | None) -> str:
    """A short hash of the parameter values, the run's seed and its number of steps."""
    text = json.dumps({"params": params, "seed": seed, "steps": steps}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]


@dataclass(frozen=True)
class Task:
    """One run: where it sits in the design and everything it needs."""

    run_id: str
    sample: int
    replication: int
    seed: int
    params: dict[str, Any]


def make_tasks(sweep: Sweep, design: Design, model: Any) -> list[Task]:
    """Every run of the sweep, sample by sample, replication by replication."""
    values = applied_values(sweep, design)
    tasks = []
    for sample, row in zip(values.index, values.to_dict("records")):
        params = {key: _plain(row[key]) for key in sweep.keys}
        steps = model.steps(params)
        for r in range(sweep.replications):
            seed = run_seed(sweep.seed, int(sample), r)
            tasks.append(Task(run_id(params, seed, steps), int(sample), r, seed, params))
    return tasks


def check_points(sweep: Sweep, tasks: list[Task], model: Any) -> None:
    """Refuse a design point the model would reject (cross-field rules), before anything runs."""
    checked: set[str] = set()
    for task in tasks:
        key = json.dumps(task.params, sort_keys=True)
        if key in checked:
            continue
        checked.add(key)
        problem = model.check_point(task.params)
        if problem:
            shown = ", ".join(f"{k}={v}" for k, v in task.params.items())
            raise SweepError(f"{sweep.source}: parameters: design point {task.sample} ({shown}): {problem}")


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers, so that hashes and JSON are stable."""
    return value.item() if isinstance(value, np.generic) else value


def columns(sweep: Sweep, model: Any) -> dict[str, str]:
    """The columns of a run row and their kinds (int, float, string), in order."""
    kinds = {"run_id": "string", "sample": "int", "replication": "int", "seed": "int"}
    for p in sweep.parameters:
        kinds[p.key] = {"int": "int", "float": "float"}.get(p.info.kind, "string")
    for name in sweep.outputs:
        kinds[name] = model.output_kind(name)
    kinds.update(wall_time="float", status="string", error="string", traceback="string")
    return kinds


def execute_task(model: Any, task: Task, outputs: tuple[str, ...]) -> dict[str, Any]:
    """Run one task and return its row; a model error becomes a failed row, never an exception."""
    start = time.perf_counter()
    row: dict[str, Any] = {
        "run_id": task.run_id, "sample": task.sample, "replication": task.replication, "seed": task.seed,
        **task.params,
    }  # fmt: skip
    try:
        result = model(dict(task.params), task.seed)
        missing = [name for name in outputs if name not in result]
        if missing:
            raise KeyError(f"the model returned no value for {', '.join(missing)}")
        row.update({name: result[name] for name in outputs})
        row.update(status=STATUS_OK, error=None, traceback=None)
    except Exception as exc:  # noqa: BLE001 - every model error is recorded, the sweep goes on
        row.update({name: None for name in outputs})
        row.update(status=STATUS_FAILED, error=one_line(exc), traceback=traceback.format_exc())
    row["wall_time"] = time.perf_counter() - start
    return row


def failed_row(task: Task, outputs: tuple[str, ...], error: str, trace: str | None = None) -> dict[str, Any]:
    """The row of a run that never returned (its worker died, say)."""
    return {
        "run_id": task.run_id, "sample": task.sample, "replication": task.replication, "seed": task.seed,
        **task.params, **{name: None for name in outputs},
        "wall_time": None, "status": STATUS_FAILED, "error": error, "traceback": trace,
    }  # fmt: skip
