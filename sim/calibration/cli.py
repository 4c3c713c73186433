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
from sim.calibration.spec import CalibrationError
from sim.commandline import EXIT_BAD_INPUT, BadInput, OneLineParser
from sim.jobs.options import add_cluster_options, check_cluster_options
from sim.scenario import ScenarioError
from sim.sweep.spec import SweepError

DEFAULT_ROOT = Path("results") / "calibration"
EXIT_INTERRUPTED = 130
BAD_INPUT = (BadInput, CalibrationError, FactsError, ScenarioError, SweepError)


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
    parser.add_argument("calibration", metavar="FILE", help="calibration YAML file")
    add_cluster_options(parser, f"{DEFAULT_ROOT}/<name>/", "the posterior does not depend on it")
    parser.add_argument("--no-report", action="store_true", help="stop after sampling (calibrate-report builds it later)")
    parser.add_argument("--quiet", action="store_true", help="no progress output")
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
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="local worker processes for the posterior-predictive runs (default: one per core)")
    parser.add_argument("--scheduler", metavar="ADDRESS", default=None, help="an existing Dask cluster for those runs")
    return parser  # fmt: skip


def quiet_pyabc() -> None:
    """pyabc logs every generation at INFO; our own progress lines replace them."""
    for name in ("ABC", "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Population"):
        logging.getLogger(name).setLevel(logging.WARNING)
    warnings.filterwarnings("ignore", message="invalid value encountered in scalar subtract")


def calibrate_main(argv: list[str]) -> int:
    """``python run.py calibrate FILE [--workers N] [--scheduler ADDR] [--out DIR]``."""
    from sim.calibration.execute import run_calibration
    from sim.calibration.spec import load_calibration

    out = None
    try:
        args = calibrate_parser().parse_args(argv)
        check_cluster_options(args)
        calibration = load_calibration(args.calibration)
        out = args.out or DEFAULT_ROOT / calibration.name
        quiet_pyabc()
        line = run_calibration(calibration, out, workers=args.workers, scheduler=args.scheduler,
                               report=not args.no_report, quiet=args.quiet)  # fmt: skip
        print(line)
        return 0
    except BAD_INPUT as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        where = f"; finished generations are saved in {out}/history.db" if out is not None else ""
        print(f"interrupted{where}; run the same command again to resume", file=sys.stderr)
        return EXIT_INTERRUPTED


def calibrate_report_main(argv: list[str]) -> int:
    """``python run.py calibrate-report OUT``: everything but the sampling, from history.db."""
    from sim.calibration.execute import report_only

    try:
        args = report_parser().parse_args(argv)
        check_cluster_options(args)
        quiet_pyabc()
        start = time.perf_counter()
        print(report_only(args.out, workers=args.workers, scheduler=args.scheduler))
        print(f"({time.perf_counter() - start:.0f} s)", file=sys.stderr)
        return 0
    except BAD_INPUT as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: the report was not rebuilt", file=sys.stderr)
        return EXIT_INTERRUPTED
