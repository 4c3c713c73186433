"""The options of every long job on Dask (sweep, calibrate, study).

``--workers``, ``--scheduler``, ``--out``, ``--force``, ``--wait-workers``
and ``--quiet``: each job's command line adds them with `add_job_options`
and checks them with `check_job_options`, so the three read and refuse
them alike. `add_cluster_options` is the part a report command takes
(its posterior-predictive or analysis runs need a cluster, not a folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.commandline import BadInput, OneLineParser


def add_cluster_options(parser: argparse.ArgumentParser, independence: str) -> None:
    """--workers and --scheduler. ``independence`` says what does not depend on the worker count."""
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"local worker processes (default: one per core); {independence}")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run on an existing Dask cluster, e.g. tcp://host:8786 (or the JSON file of "
                        "dask scheduler --scheduler-file), instead of a local one")
    parser.add_argument("--wait-workers", type=float, default=None, metavar="SECONDS",
                        help="with --scheduler: how long to wait for a first worker (default 60)")  # fmt: skip


def add_job_options(parser: argparse.ArgumentParser, out_default: str, independence: str) -> None:
    """--workers, --scheduler, --wait-workers, --out, --force and --quiet: the options of every long job."""
    add_cluster_options(parser, independence)
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help=f"results folder (default: {out_default})")
    parser.add_argument("--force", action="store_true", help="run even when the memory estimate says it cannot fit")
    parser.add_argument("--quiet", action="store_true", help="no progress output")


def check_job_options(args: argparse.Namespace) -> None:
    """Refuse a worker count below 1 and a wait that is not positive; warn that --workers means nothing
    with --scheduler."""
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: must be at least 1 (got {args.workers})")
    wait = getattr(args, "wait_workers", None)
    if wait is not None and not wait > 0:
        raise BadInput(f"--wait-workers: must be > 0 seconds (got {wait})")
    if args.scheduler and args.workers:
        print("warning: --workers is ignored with --scheduler: the cluster has its own workers", file=sys.stderr)


def folder_parser(prog: str, description: str, what: str) -> OneLineParser:
    """The parser of a report command: one argument, OUT, the job's results folder."""
    parser = OneLineParser(prog=prog, description=description)
    parser.add_argument("out", type=Path, metavar="OUT", help=f"the {what}'s results folder")
    return parser
