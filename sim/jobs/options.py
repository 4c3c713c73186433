"""The options of every long job on Dask (sweep, calibrate, study): --workers, --scheduler, --out.

Each job's command line adds them with `add_cluster_options` and checks
them with `check_cluster_options`, so the three read and refuse them alike.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from sim.commandline import BadInput


def add_cluster_options(parser: argparse.ArgumentParser, out_default: str, independence: str) -> None:
    """--workers, --scheduler and --out: the options of every command that runs on Dask.

    ``independence`` says what does not depend on the worker count (e.g. "results do not depend on it").
    """
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help=f"local worker processes (default: one per core); {independence}")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None,
                        help="run on an existing Dask cluster, e.g. tcp://host:8786 (or the JSON file of "
                        "dask scheduler --scheduler-file), instead of a local one")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR", help=f"results folder (default: {out_default})")


def check_cluster_options(args: argparse.Namespace) -> None:
    """Refuse a worker count below 1; warn that --workers means nothing with --scheduler."""
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: must be at least 1 (got {args.workers})")
    if args.scheduler and args.workers:
        print("warning: --workers is ignored with --scheduler: the cluster has its own workers", file=sys.stderr)
