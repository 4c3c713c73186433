"""Run a calibration end to end: folder guard, Dask client, ABC-SMC, provenance, report.

Simulations run on the jobs' Dask set-up (`sim.jobs.cluster`): a local
cluster of single-threaded worker processes by default, an existing
scheduler with ``--scheduler``. An unreachable scheduler is bad input. One
calibrate at a time samples into a folder (`CalibrationFolder.lock`); a
write that fails inside pyabc's SQLite history (a full disk) is an
`OSError` naming history.db, with every finished generation kept.
"""

from __future__ import annotations

import errno
import os
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from sim.calibration.engine import Progress, run_abc, stored_generations
from sim.calibration.folder import CalibrationFolder
from sim.calibration.sampler import DaskMap
from sim.calibration.simulator import MarketSimulator
from sim.calibration.spec import Calibration, CalibrationError
from sim.jobs.cluster import WORKER_TIMEOUT
from sim.runs.provenance import base_metadata, utc_now


@contextmanager
def dask_map(workers: int | None, scheduler: str | None, scratch: Path, worker_timeout: float | None = None):
    """A `DaskMap` on a local cluster or an existing scheduler; unreachable is one line of bad input."""
    from sim.jobs.cluster import open_client

    with open_client(workers, scheduler, scratch, worker_timeout or WORKER_TIMEOUT) as client:
        yield DaskMap(client), len(client.scheduler_info().get("workers", {}))


@contextmanager
def history_writes(db: Path):
    """pyabc's SQLite errors on writing (a full disk, a read-only folder) as an OSError naming history.db."""
    from sqlalchemy.exc import OperationalError

    try:
        yield
    except OperationalError as err:
        text = " ".join(str(getattr(err, "orig", None) or err).split())
        code = errno.ENOSPC if "full" in text else errno.EROFS if "readonly" in text else errno.EIO
        raise OSError(code, text, str(db)) from None


def check_resources(calibration: Calibration, workers: int | None, force: bool) -> None:
    """Refuse, in one line, local workers whose runs cannot fit this machine's memory (unless forced)."""
    from sim.runs.resources import PROCESS_BASE, ResourceError, check_memory, human_bytes, run_estimate

    estimate = max((run_estimate(s.base) for s in calibration.structures), key=lambda e: e.bytes)  # the largest world
    count = workers or os.cpu_count() or 1
    try:
        check_memory(count * (estimate.bytes + PROCESS_BASE),
                     f"{calibration.source}: {count} worker(s), each running a world of {estimate.users:,} users "
                     f"(about {human_bytes(estimate.bytes)})", "use fewer --workers or a smaller world", force)  # fmt: skip
    except ResourceError as err:
        raise CalibrationError(str(err)) from None


def run_calibration(calibration: Calibration, out: Path, workers: int | None = None, scheduler: str | None = None,
                    report: bool = True, quiet: bool = False, force: bool = False,
                    worker_timeout: float | None = None) -> str:  # fmt: skip
    """Sample (or resume) the calibration into ``out``, then build its report; returns a summary line."""
    folder = CalibrationFolder(out)
    if not scheduler:
        check_resources(calibration, workers, force)
    folder.check_compatible(calibration)
    folder.check_writable()
    with folder.locked():
        return _run_locked(folder, calibration, workers, scheduler, report, quiet, worker_timeout)


def _run_locked(folder: CalibrationFolder, calibration: Calibration, workers, scheduler, report, quiet,
                worker_timeout) -> str:  # fmt: skip
    folder.check_compatible(calibration)  # again, now that no other calibrate can write
    folder.initialise(calibration)
    before = stored_generations(folder.history)
    started, clock, provenance = utc_now(), time.perf_counter(), base_metadata()  # the code as it starts
    simulate = [MarketSimulator(s.base, calibration.bands, calibration.replications) for s in calibration.structures]
    priors = [s.priors for s in calibration.structures]
    progress = Progress(calibration.generations, quiet=quiet)
    if before and not quiet:
        print(f"resuming: {before} generations stored in {folder.history}", file=sys.stderr)
    folder.add_session({**provenance, "started_utc": started.isoformat(), "finished_utc": None,
                        "generations_before": before, "seed": calibration.seed,
                        "fingerprint": calibration.fingerprint()})  # fmt: skip
    with dask_map(workers, scheduler, folder.scratch, worker_timeout) as (map_, used), history_writes(folder.history):
        try:
            run_abc(priors, calibration.bands, simulate, folder.history, calibration.population,
                    calibration.generations, calibration.min_epsilon, calibration.seed, map_, progress,
                    transition=calibration.transition, defensive=calibration.defensive)  # fmt: skip
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


def report_only(out: Path, workers: int | None = None, scheduler: str | None = None,
                worker_timeout: float | None = None) -> str:  # fmt: skip
    from sim.calibration.report import build_report

    folder = CalibrationFolder(out)
    calibration = folder.load()
    folder.check_writable()
    if stored_generations(folder.history) == 0:
        raise CalibrationError(f"{out}: history.db holds no finished generation yet; wait for the first one")
    scratch = Path(tempfile.mkdtemp(prefix="calibrate-report-"))  # not OUT/dask-scratch: a calibrate may use it now
    with dask_map(workers, scheduler, scratch, worker_timeout) as (map_, _):
        build_report(folder, calibration, map_)
    return f"report: {folder.report}"
