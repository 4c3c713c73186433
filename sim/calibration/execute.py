"""Run a calibration end to end: folder guard, Dask client, ABC-SMC, provenance, report.

Simulations run on the sweeps' Dask set-up (`sim.jobs.cluster`): a local
cluster of single-threaded worker processes by default, an existing
scheduler with ``--scheduler``. An unreachable scheduler is bad input.
"""

from __future__ import annotations

import sys
import time
from contextlib import contextmanager
from pathlib import Path

from sim.calibration.engine import Progress, run_abc, stored_generations
from sim.calibration.folder import CalibrationFolder
from sim.calibration.sampler import DaskMap
from sim.calibration.simulator import MarketSimulator
from sim.calibration.spec import Calibration, CalibrationError
from sim.runs.provenance import base_metadata, utc_now
from sim.sweep.spec import SweepError


@contextmanager
def dask_map(workers: int | None, scheduler: str | None, scratch: Path):
    """A `DaskMap` on a local cluster or an existing scheduler; unreachable is one line of bad input."""
    from sim.jobs.cluster import open_client

    try:
        with open_client(workers, scheduler, scratch) as client:
            yield DaskMap(client), len(client.scheduler_info().get("workers", {}))
    except SweepError as err:
        raise CalibrationError(str(err)) from None


def run_calibration(calibration: Calibration, out: Path, workers: int | None = None, scheduler: str | None = None,
                    report: bool = True, quiet: bool = False) -> str:  # fmt: skip
    """Sample (or resume) the calibration into ``out``, then build its report; returns a summary line."""
    folder = CalibrationFolder(out)
    folder.check_compatible(calibration)
    folder.initialise(calibration)
    before = stored_generations(folder.history)
    started, clock, provenance = utc_now(), time.perf_counter(), base_metadata()  # the code as it starts
    simulate = MarketSimulator(calibration.base, calibration.bands, calibration.replications)
    progress = Progress(calibration.generations, quiet=quiet)
    if before and not quiet:
        print(f"resuming: {before} generations stored in {folder.history}", file=sys.stderr)
    folder.add_session({**provenance, "started_utc": started.isoformat(), "finished_utc": None,
                        "generations_before": before, "seed": calibration.seed,
                        "fingerprint": calibration.fingerprint()})  # fmt: skip
    with dask_map(workers, scheduler, folder.scratch) as (map_, used):
        try:
            run_abc(calibration.priors, calibration.bands, simulate, folder.history, calibration.population,
                    calibration.generations, calibration.min_epsilon, calibration.seed, map_, progress,
                    transition=calibration.transition)  # fmt: skip
        finally:
            record_session(folder, calibration, before, started, clock, used, scheduler, provenance)
        if report:
            from sim.calibration.report import build_report

            build_report(folder, calibration, map_)
    after = stored_generations(folder.history)
    if after:
        from sim.calibration.posterior import generations_frame
        from sim.calibration.report import weight_warning

        warning = weight_warning(generations_frame(folder.history))
        if warning:
            print(warning.replace("**", ""), file=sys.stderr)
    return f"{calibration.name}: {after} generations in {folder.history}" + (f"; report: {folder.report}" if report else "")


def record_session(folder, calibration, before, started, clock, workers, scheduler, provenance) -> None:
    """Complete this session's entry in metadata.json (written when it started, so a killed session
    stays listed, without an end); a session that stored no generation is dropped."""
    after = stored_generations(folder.history)
    if after > before:
        folder.finish_session({
            **provenance, "started_utc": started.isoformat(), "finished_utc": utc_now().isoformat(),
            "wall_time_seconds": round(time.perf_counter() - clock, 1), "workers": workers, "scheduler": scheduler,
            "generations_before": before, "generations_after": after, "seed": calibration.seed,
            "fingerprint": calibration.fingerprint(),
        })  # fmt: skip
    else:
        folder.finish_session(None)


def report_only(out: Path, workers: int | None = None, scheduler: str | None = None) -> str:
    from sim.calibration.report import build_report

    folder = CalibrationFolder(out)
    calibration = folder.load()
    if stored_generations(folder.history) == 0:
        raise CalibrationError(f"{out}: history.db holds no finished generation yet; wait for the first one")
    with dask_map(workers, scheduler, folder.scratch) as (map_, _):
        build_report(folder, calibration, map_)
    return f"report: {folder.report}"
