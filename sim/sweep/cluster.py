"""Dask clusters for sweeps: a LocalCluster by default, or an existing scheduler.

The local cluster runs one single-threaded worker process per core, starts
no dashboard, keeps its scratch files inside the sweep's folder, turns off
the workers' statistical profiler (its history grows with every run) and
sends a worker one run at a time (worker saturation 1.0), so that when a run
kills its worker process no other run is lost with it. A run whose worker dies
is tried on ``ALLOWED_FAILURES`` more workers before Dask gives up on it
(KilledWorker); the sweep records it as failed and goes on.
"""

from __future__ import annotations

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

from sim.sweep.spec import SweepError
from sim.sweep.tasks import one_line

ALLOWED_FAILURES = 3  # Dask's default: deaths of a run's worker before the run is given up
CONNECT_TIMEOUT = 5  # seconds to reach a --scheduler before giving up


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


@contextmanager
def remote_client(address: str) -> Iterator[Client]:
    """A client of an existing Dask scheduler (address, or scheduler file); unreachable is one line of bad input."""
    try:
        if address.endswith(".json") and Path(address).is_file():  # a `dask scheduler --scheduler-file`
            client = Client(scheduler_file=address, timeout=CONNECT_TIMEOUT)
        else:
            client = Client(address, timeout=CONNECT_TIMEOUT)
    except (OSError, TimeoutError, ValueError, TypeError) as err:
        raise SweepError(f"--scheduler {address}: cannot reach the Dask scheduler ({one_line(err)})") from None
    try:
        check_workers(client, address)
        yield client
    finally:
        client.close()


@contextmanager
def open_client(workers: int | None, scheduler: str | None, scratch: Path) -> Iterator[Client]:
    if scheduler:
        with remote_client(scheduler) as client:
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
        raise SweepError(
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
