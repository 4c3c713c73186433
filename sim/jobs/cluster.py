"""The Dask client of every long job: a LocalCluster by default, or an existing scheduler (``--scheduler``).

The local cluster runs one single-threaded worker process per core, starts
no dashboard, keeps its scratch files inside the sweep's folder, turns off
the workers' statistical profiler (its history grows with every run) and
sends a worker one run at a time (worker saturation 1.0), so that when a run
kills its worker process no other run is lost with it. A run whose worker dies
is tried on ``ALLOWED_FAILURES`` more workers before Dask gives up on it
(KilledWorker); the sweep records it as failed and goes on. A scheduler
that goes away mid-job is `SchedulerLost` (exit 1; the same command
resumes); one that cannot be reached, or has no workers after
``--wait-workers`` seconds, is one line of bad input.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import dask
from distributed import Client, LocalCluster
from distributed.diagnostics.plugin import WorkerPlugin

from sim.jobs.errors import JobError, one_line

ALLOWED_FAILURES = 3  # Dask's default: deaths of a run's worker before the run is given up
CONNECT_TIMEOUT = 5  # seconds to reach a --scheduler before giving up
WORKER_TIMEOUT = 60.0  # seconds to wait for a --scheduler's first worker before saying there is none


class IgnoreInterrupts(WorkerPlugin):
    """Local workers ignore Ctrl-C: the sweep process stops them after saving what is finished."""

    name = "sim-sweep-ignore-sigint"

    def setup(self, worker) -> None:
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGINT, signal.SIG_IGN)


def local_config(scratch: Path) -> dict:
    return {
        "temporary-directory": str(scratch),
        "distributed.scheduler.allowed-failures": ALLOWED_FAILURES,
        "distributed.scheduler.worker-saturation": 1.0,
        # the statistical profiler keeps a call tree per second of work (up to an hour of them):
        # in a worker running thousands of runs it grows memory and costs time, and sweeps never read it
        "distributed.worker.profile.enabled": False,
    }


@contextmanager
def local_client(workers: int, scratch: Path) -> Iterator[Client]:
    """A LocalCluster of ``workers`` single-threaded processes, scratch space in ``scratch``."""
    scratch.mkdir(parents=True, exist_ok=True)
    try:
        with dask.config.set(local_config(scratch)):
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",  # the scheduler's bare HTTP endpoint on a free port ...
                scheduler_kwargs={"dashboard": False},  # ... and no dashboard on it
                silence_logs=logging.CRITICAL,
                local_directory=str(scratch),
            )
            try:
                with Client(cluster) as client:
                    client.register_plugin(IgnoreInterrupts())
                    yield client
            finally:
                cluster.close()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def scheduler_address(address: str) -> str:
    """The address to connect to: ``address`` itself, or the one a scheduler file names.

    A scheduler file (``dask scheduler --scheduler-file``) that cannot be read
    or holds no address is one line of bad input, not a traceback.
    """
    if not address.endswith(".json") and not Path(address).is_file():
        return address
    path = Path(address)
    if not path.is_file():
        raise JobError(f"--scheduler {address}: scheduler file not found")
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise JobError(f"--scheduler {address}: not a readable scheduler file ({one_line(err)}); "
                         "dask scheduler --scheduler-file writes it") from None  # fmt: skip
    found = info.get("address") if isinstance(info, dict) else None
    if not isinstance(found, str) or "://" not in found:
        raise JobError(f"--scheduler {address}: the scheduler file holds no address (got {str(found)[:60]!r}); "
                         "dask scheduler --scheduler-file writes it")  # fmt: skip
    return found


@contextmanager
def remote_client(address: str, worker_timeout: float = WORKER_TIMEOUT) -> Iterator[Client]:
    """A client of an existing Dask scheduler (address, or scheduler file); unreachable is one line of bad input.

    A scheduler without workers is refused after ``worker_timeout`` seconds,
    instead of the sweep waiting for ever.
    """
    target = scheduler_address(address)
    try:
        client = Client(target, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError, KeyError) as err:
        raise JobError(f"--scheduler {address}: cannot reach the Dask scheduler ({one_line(err)})") from None
    try:
        try:
            client.wait_for_workers(1, timeout=worker_timeout)
        except (TimeoutError, OSError) as err:
            if isinstance(err, TimeoutError) or "imed out" in str(err):
                raise JobError(f"--scheduler {address}: the scheduler has no workers (waited {worker_timeout:g} s); "
                                 f"start some with: dask worker {target}") from None  # fmt: skip
            raise
        check_workers(client, address)
        yield client
    finally:
        client.close()


@contextmanager
def open_client(
    workers: int | None, scheduler: str | None, scratch: Path, worker_timeout: float = WORKER_TIMEOUT
) -> Iterator[Client]:
    if scheduler:
        with remote_client(scheduler, worker_timeout) as client:
            yield client
    else:
        with local_client(workers or os.cpu_count() or 1, scratch) as client:
            yield client


def worker_revision() -> str | None:
    """The git revision of the project a worker imports (runs on the worker)."""
    from sim.runs.provenance import git_state

    return git_state()["git_revision"]


def check_workers(client: Client, address: str) -> None:
    """Workers must import this project; warn when they run another git revision."""
    try:
        revisions = client.run(worker_revision)
    except Exception as err:  # noqa: BLE001 - any failure here means the workers cannot run sweeps
        raise JobError(
            f"--scheduler {address}: the workers cannot import this project ({one_line(err)}); "
            "install it on every worker, at the same git revision"
        ) from None
    mine = worker_revision()
    others = {rev for rev in revisions.values() if rev != mine}
    if others:
        print(
            f"warning: --scheduler {address}: workers run git revision(s) {', '.join(map(str, others))}, "
            f"this process {mine}; results may differ from a local run",
            file=sys.stderr,
        )
