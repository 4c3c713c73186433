"""Run a sweep on Dask: skip what is done, submit the rest, save rows in batches.

`run_sweep` is the whole session: check the sweep fits this machine's
memory, draw the design, refuse a folder that holds another sweep or cannot
be written, connect to the cluster (failing fast), then keep a window of
runs in flight on the workers and write every finished run to disk as soon
as it arrives (runs that arrive together share a part; parts are merged
every ``COMPACT_PARTS``), so a killed sweep loses only the runs in flight. A
run whose worker died (KilledWorker) is recorded as failed with the error,
like a run that raised. Ctrl-C (or SIGTERM) saves what has finished and
stops; running the same command again resumes.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import CancelledError
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed import Client, as_completed
from distributed.scheduler import KilledWorker

from sim.commandline import sigterm_as_interrupt
from sim.runs.provenance import base_metadata, utc_now
from sim.runs.resources import PROCESS_BASE, ResourceError, check_memory, human_bytes, run_estimate
from sim.jobs.cluster import open_client
from sim.jobs.errors import SchedulerLost, one_line
from sim.jobs.progress import Progress
from sim.sweep.design import build_design
from sim.sweep.spec import Sweep, SweepError
from sim.sweep.store import SweepFolder
from sim.sweep.tasks import STATUS_FAILED, STATUS_OK, Task, check_points, columns, execute_task, failed_row, make_tasks


COMPACT_PARTS = 128  # merge the parts when this many have accumulated (reading many small files is slow)
BYTES_PER_RUN = 1500  # the sweep process's bookkeeping per run (task, future, row), plus per parameter:
BYTES_PER_RUN_PARAMETER = 250


@dataclass
class Outcome:
    """What one session did."""

    total: int
    skipped: int
    ok: int = 0
    failed: int = 0
    interrupted: bool = False
    wall_time: float = 0.0
    notes: list[str] = field(default_factory=list)

    def line(self) -> str:
        return f"{self.ok} runs ok, {self.failed} failed, {self.skipped} skipped (already done)"

    def tell(self, out: Path, shown: int = 0) -> bool:
        """Print the notes (after the first ``shown``), then the counts; False if the session was interrupted."""
        for note in self.notes[shown:]:
            print(f"warning: {note}", file=sys.stderr)
        if self.interrupted:
            print(f"interrupted: {self.line()}; finished runs are saved in {out}; "
                  "run the same command again to resume", file=sys.stderr)  # fmt: skip
            return False
        print(self.line())
        if self.failed:
            print(f"warning: {self.failed} runs failed (their errors are in the report); "
                  "--retry-failed runs them again", file=sys.stderr)  # fmt: skip
        return True


def run_sweep(
    sweep: Sweep,
    model: Any,
    out: str | Path,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client: Client | None = None,
    retry_failed: bool = False,
    quiet: bool = False,
    batch_rows: int = 1,
    flush_seconds: float = 30.0,
    force: bool = False,
    worker_timeout: float | None = None,
) -> Outcome:
    """Run every run of ``sweep`` not yet stored in ``out``; returns the session's counts.

    Finished runs are written as soon as they arrive; ``batch_rows`` > 1
    holds up to that many rows (at most ``flush_seconds``) to write fewer,
    larger parts, for models that run in milliseconds. ``force`` runs even
    when the memory estimate says the sweep does not fit.
    """
    clock = time.perf_counter()
    started = utc_now()
    folder = SweepFolder(out)
    check_resources(sweep, model, None if scheduler or client else (workers or os.cpu_count() or 1), force)
    design = build_design(sweep)
    tasks = make_tasks(sweep, design, model)
    check_points(sweep, tasks, model)
    folder.check_compatible(sweep, design)
    folder.check_writable()
    stored = folder.read_runs() if folder.runs.exists() else None
    keep = {STATUS_OK} if retry_failed else {STATUS_OK, STATUS_FAILED}
    done = set() if stored is None or stored.empty else set(stored.loc[stored["status"].isin(keep), "run_id"])
    todo = [t for t in tasks if t.run_id not in done]
    outcome = Outcome(total=len(tasks), skipped=len(tasks) - len(todo), notes=[*sweep.notes, *design.notes])
    kinds = columns(sweep, model)
    context = nullcontext(client) if client is not None or not todo else open_client(workers, scheduler, folder.scratch, *([] if worker_timeout is None else [worker_timeout]))
    with context as active:
        folder.lock()
        try:
            folder.initialise(sweep, design)
            folder.clean_temporary()
            progress = Progress(sweep.name, len(tasks), outcome.skipped, quiet)
            try:
                with sigterm_as_interrupt():
                    if todo:
                        _run_tasks(active, model, todo, sweep, folder, kinds, progress, outcome, batch_rows, flush_seconds)
            except KeyboardInterrupt:
                outcome.interrupted = True
            except SchedulerLost:
                outcome.interrupted = True
                raise
            finally:
                progress.close()
                outcome.wall_time = time.perf_counter() - clock
                if not outcome.interrupted:
                    folder.compact(kinds)
                outcome.notes += [n for n in folder.notes if n not in outcome.notes]
                _record_session(folder, sweep, design, outcome, started, workers, scheduler, active)
        finally:
            folder.unlock()
    return outcome


def _run_tasks(client, model, todo: list[Task], sweep, folder, kinds, progress, outcome, batch_rows, flush_seconds) -> None:
    """Keep a window of runs in flight; write finished runs at once; save what is held on any exit."""
    outputs = tuple(sweep.outputs)
    queue: Iterator[Task] = iter(todo)
    running: dict[Any, Task] = {}
    finished = as_completed()
    buffer: list[dict] = []
    held_since = time.monotonic()
    written = len(folder.parts())

    def submit(n: int) -> None:
        for task in (t for _, t in zip(range(n), queue)):
            future = client.submit(execute_task, model, task, outputs, key=f"sweep-run-{task.run_id}", pure=False)
            running[future] = task
            finished.add(future)

    def flush() -> None:
        nonlocal written
        if buffer:
            folder.write_part(buffer, kinds)
            buffer.clear()
            written += 1
        if written >= COMPACT_PARTS:
            folder.compact(kinds)
            written = len(folder.parts())

    window = _window(client)
    last_window = time.monotonic()
    submit(window)
    try:
        for batch in finished.batches():  # every run that has finished by now, at least one
            if not buffer:
                held_since = time.monotonic()
            for future in batch:
                task = running.pop(future)
                row = _row(future, task, outputs)
                future.release()
                buffer.append(row)
                ok = row["status"] == STATUS_OK
                outcome.ok, outcome.failed = outcome.ok + ok, outcome.failed + (not ok)
                progress.update(ok)
            if len(buffer) >= batch_rows or time.monotonic() - held_since >= flush_seconds:
                flush()
            if time.monotonic() - last_window >= 10:
                window, last_window = _window(client), time.monotonic()
            submit(window - len(running))
    finally:
        flush()
        if running:
            try:
                client.cancel(list(running), force=True)
            except Exception:  # noqa: BLE001 - the cluster may already be gone
                pass


def design_points(sweep: Sweep) -> int:
    """How many design points the sweep's method draws, computed without drawing them."""
    d = len(sweep.parameters)
    if sweep.method == "grid":
        return math.prod(len(p.values) for p in sweep.parameters)
    if sweep.method == "sobol":
        return sweep.samples * (2 * d + 2 if sweep.second_order else d + 2)
    if sweep.method == "morris":
        return sweep.samples * (d + 1)
    return sweep.samples


def check_resources(sweep: Sweep, model: Any, workers: int | None, force: bool = False) -> None:
    """Refuse, in one line, a sweep whose bookkeeping or whose runs cannot fit this machine's memory.

    The sweep process holds every run's task and row: runs x (BYTES_PER_RUN
    + BYTES_PER_RUN_PARAMETER per parameter). Each local worker holds one
    model run, estimated at the largest value of every varied parameter.
    """
    points = design_points(sweep)
    runs = points * sweep.replications
    need = runs * (BYTES_PER_RUN + BYTES_PER_RUN_PARAMETER * len(sweep.parameters))
    try:
        check_memory(need, f"{sweep.source}: {sweep.method} sweep of {points:,} points x {sweep.replications} "
                     f"replication(s) = {runs:,} runs", "lower samples (or grid values) or replications", force)  # fmt: skip
        base = getattr(model, "base", None)
        if workers and isinstance(base, dict):
            from sim.scenario import apply_overrides

            largest = [f"{p.key}={max(p.bounds) if p.bounds else max(p.values)}" for p in sweep.parameters
                       if p.info.kind != "category"]  # fmt: skip
            estimate = run_estimate(apply_overrides(base, largest))
            check_memory(workers * (estimate.bytes + PROCESS_BASE),
                         f"{sweep.source}: {workers} worker(s), each running a world of {estimate.users:,} users "
                         f"(about {human_bytes(estimate.bytes)} at the largest parameter values)",
                         "use fewer --workers or a smaller world", force)  # fmt: skip
    except ResourceError as err:
        raise SweepError(str(err)) from None


def _row(future, task: Task, outputs: tuple[str, ...]) -> dict:
    """The finished run's row; a dead worker or a transfer error becomes a failed row."""
    try:
        return future.result()
    except KilledWorker as err:
        message = ("KilledWorker: the worker process died every time it ran this run (crash, out of memory, "
                   f"or killed): {one_line(err)}")  # fmt: skip
        return failed_row(task, outputs, message, None)
    except CancelledError as err:
        raise SchedulerLost(f"lost the Dask scheduler ({one_line(err)}); re-run the same command to resume") from None
    except Exception as err:  # noqa: BLE001 - e.g. the task could not be unpickled on the worker
        return failed_row(task, outputs, one_line(err), traceback.format_exc())


def _window(client: Client) -> int:
    """Runs kept in flight: a few per worker thread, so the scheduler never holds the whole sweep."""
    try:
        threads = sum(client.nthreads().values())
    except Exception:  # noqa: BLE001
        threads = 1
    return max(8, 4 * threads)


def _record_session(folder: SweepFolder, sweep, design, outcome: Outcome, started, workers, scheduler, client) -> None:
    """metadata.json: the sweep's identity, this machine's provenance and every session so far."""
    metadata = folder.read_metadata()
    sessions = metadata.get("sessions", [])
    provenance = base_metadata()
    if sessions and sessions[-1].get("git_revision") != provenance.get("git_revision"):
        outcome.notes.append(
            f"this session ran at git revision {provenance.get('git_revision')}, an earlier one at "
            f"{sessions[-1].get('git_revision')}: the folder mixes code versions"
        )
    try:
        threads = sum(client.nthreads().values()) if client is not None else 0
    except Exception:  # noqa: BLE001
        threads = None
    sessions.append({
        "started_utc": started.isoformat(), "finished_utc": utc_now().isoformat(),
        "command_line": provenance["command_line"], "git_revision": provenance.get("git_revision"),
        "git_dirty": provenance.get("git_dirty"), "scheduler": scheduler or ("local" if client else None),
        "workers": workers, "worker_threads": threads, "runs_ok": outcome.ok, "runs_failed": outcome.failed,
        "runs_skipped": outcome.skipped, "interrupted": outcome.interrupted,
        "wall_time_seconds": round(outcome.wall_time, 3),
    })  # fmt: skip
    metadata.update({
        "sweep": sweep.name, "fingerprint": sweep.fingerprint(), "method": sweep.method,
        "design_points": len(design), "replications": sweep.replications, "runs_total": outcome.total,
        "seed": sweep.seed, "seeds": "run seed = SeedSequence([seed, sample, replication]), see the runs' seed column",
        "notes": outcome.notes, **provenance, "sessions": sessions,
    })  # fmt: skip
    metadata.setdefault("first_started_utc", sessions[0]["started_utc"])
    folder.write_metadata(metadata)
