"""Command line of sweeps: ``python run.py sweep`` and ``python run.py sweep-report``.

Bad input (an unknown parameter key, bounds outside a parameter's range, an
unknown method, an unreachable scheduler, a folder holding another sweep)
ends with one line on stderr and exit status 2, before anything runs.
Ctrl-C saves the finished runs and exits with status 130; the same command
resumes. No model rules and no analysis live here.
"""

from __future__ import annotations

import sys
from pathlib import Path

from sim.commandline import EXIT_INTERRUPTED, BadInput, OneLineParser
from sim.jobs.command import job_command
from sim.jobs.options import add_job_options, folder_parser
from sim.sweep.spec import SweepError

DEFAULT_ROOT = Path("results") / "sweeps"


def sweep_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py sweep",
        description=(
            "Run a parameter sweep (sobol, morris, lhs or grid) on Dask: a local cluster by default, or an "
            "existing one with --scheduler. Re-running the same command resumes; a changed sweep file is refused. "
            "At the end the analysis, figures and report.md are written to the output folder."
        ),
        epilog="Example: python run.py sweep scenarios/sweeps/grid_attention_pages.yaml --workers 2",
    )
    parser.add_argument("sweep", metavar="SWEEP.yaml", help="sweep YAML file (see docs/sweeps.md)")
    add_job_options(parser, f"{DEFAULT_ROOT}/<name>/", "results do not depend on it")
    parser.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    return parser


def report_parser() -> OneLineParser:
    return folder_parser("python run.py sweep-report", "Rebuild a sweep's analysis, figures and report.md from its "
                         "stored runs (a partial sweep too).", "sweep")


def sweep_main(argv: list[str]) -> int:
    """``python run.py sweep SWEEP.yaml [--workers N] [--scheduler ADDRESS] [--out DIR] [--retry-failed]``."""
    return job_command(argv, sweep_parser, "sweep", _sweep, "finished runs")


def _sweep(args, state) -> int:
    from sim.sweep.execute import run_sweep
    from sim.sweep.report import build_report, summary_line
    from sim.sweep.spec import load_sweep

    sweep, model = load_sweep(args.sweep)
    for note in sweep.notes:
        print(f"warning: {note}", file=sys.stderr)
    out = state["saved"] = args.out or DEFAULT_ROOT / sweep.name
    outcome = run_sweep(sweep, model, out, workers=args.workers, scheduler=args.scheduler,
                        retry_failed=args.retry_failed, quiet=args.quiet, force=args.force,
                        worker_timeout=args.wait_workers)  # fmt: skip
    if not outcome.tell(out, shown=len(sweep.notes)):
        return EXIT_INTERRUPTED
    analysis, report = build_report(out)
    print(f"report: {report} ({summary_line(analysis)})")
    return 0


def sweep_report_main(argv: list[str]) -> int:
    """``python run.py sweep-report OUT``: analysis, figures and report from the stored runs."""
    return job_command(argv, report_parser, "sweep-report", _sweep_report, "", otherwise="the report was not rebuilt")


def _sweep_report(args, state) -> int:
    from sim.sweep.report import build_report, summary_line
    from sim.sweep.store import SweepFolder

    folder = SweepFolder(args.out)
    damaged = folder.sweep_yaml.with_name("sweep.yaml.bad").exists()
    if not folder.sweep_yaml.exists() and not damaged:
        raise BadInput(f"{args.out}: not a sweep folder (no sweep.yaml)")
    if folder.stored_sweep() is None:
        raise SweepError(f"{folder.sweep_yaml}: unreadable, set aside as sweep.yaml.bad; restore it with "
                         f"python run.py sweep SWEEP.yaml --out {args.out} (the same sweep file), then "
                         "run sweep-report again")  # fmt: skip
    analysis, report = build_report(args.out)
    print(summary_line(analysis))
    for found in analysis.outputs:
        if found.note:
            print(f"  {found.output}: {found.note}")
    print(f"report: {report}")
    return 0
