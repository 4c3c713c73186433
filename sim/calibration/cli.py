"""Command line of calibrations: ``python run.py calibrate`` and ``python run.py calibrate-report``.

Bad input (an unknown parameter, bounds outside the schema's range, an
unknown fact id, an unreachable scheduler, a folder holding another
calibration) ends with one line on stderr and exit status 2, before
anything runs. Ctrl-C keeps every finished generation in history.db and
exits with status 130; the same command resumes.
"""

from __future__ import annotations

import logging
import sys
import time
import warnings
from pathlib import Path

from sim.calibration.facts import FactsError
from sim.commandline import OneLineParser
from sim.jobs.command import job_command
from sim.jobs.options import add_cluster_options, add_job_options

DEFAULT_ROOT = Path("results") / "calibration"
BAD_INPUT = (FactsError,)  # besides the jobs' own errors


def calibrate_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py calibrate",
        description=(
            "Calibrate behavioural parameters to the published facts with ABC-SMC (pyabc) on Dask: a local "
            "cluster by default, or an existing one with --scheduler. Re-running the same command resumes; a "
            "changed calibration file is refused. At the end the posterior, figures, calibrated.yaml and "
            "report.md are written to the output folder (see docs/calibration.md)."
        ),
        epilog="Example: python run.py calibrate scenarios/calibration/facebook_2013.yaml --workers 2",
    )
    parser.add_argument("calibration", metavar="FILE", help="calibration YAML file (see docs/calibration.md)")
    add_job_options(parser, f"{DEFAULT_ROOT}/<name>/", "the posterior does not depend on it")
    parser.add_argument("--no-report", action="store_true", help="stop after sampling (calibrate-report builds it later)")
    return parser  # fmt: skip


def report_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py calibrate-report",
        description=(
            "Rebuild a calibration's posterior tables, figures, calibrated.yaml and report.md from its "
            "history.db, at any time (mid-run too: the last finished generation is used)."
        ),
    )
    parser.add_argument("out", type=Path, metavar="OUT", help="the calibration's results folder")
    add_cluster_options(parser, "the posterior-predictive runs do not depend on it")
    return parser


def quiet_pyabc() -> None:
    """pyabc logs every generation at INFO; our own progress lines replace them."""
    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Population"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="invalid value encountered in scalar subtract")


def calibrate_main(argv: list[str]) -> int:
    """``python run.py calibrate FILE [--workers N] [--scheduler ADDR] [--out DIR]``."""
    return job_command(argv, calibrate_parser, "calibrate", _calibrate, "finished generations", BAD_INPUT,
                       saved=_generations_kept)  # fmt: skip


def _generations_kept(state) -> Path | None:
    """history.db, once it holds a finished generation."""
    from sim.calibration.engine import stored_generations

    history = state.get("saved")
    return history if history is not None and stored_generations(history) > 0 else None


def _calibrate(args, state) -> int:
    from sim.calibration.execute import run_calibration
    from sim.calibration.spec import load_calibration

    calibration = load_calibration(args.calibration)
    out = args.out or DEFAULT_ROOT / calibration.name
    state["saved"] = out / "history.db"
    quiet_pyabc()
    print(run_calibration(calibration, out, workers=args.workers, scheduler=args.scheduler,
                          report=not args.no_report, quiet=args.quiet, force=args.force,
                          worker_timeout=args.wait_workers))  # fmt: skip
    return 0


def calibrate_report_main(argv: list[str]) -> int:
    """``python run.py calibrate-report OUT``: everything but the sampling, from history.db."""
    return job_command(argv, report_parser, "calibrate-report", _calibrate_report, "", BAD_INPUT,
                       otherwise="the report was not rebuilt")  # fmt: skip


def _calibrate_report(args, state) -> int:
    from sim.calibration.execute import report_only

    quiet_pyabc()
    start = time.perf_counter()
    print(report_only(args.out, workers=args.workers, scheduler=args.scheduler, worker_timeout=args.wait_workers))
    print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
    return 0
