"""Command line of studies: ``python run.py study`` and ``python run.py study-report``.

Bad input (a bad study file, an unknown region key, an unreachable
scheduler, a folder holding another study) ends with one line on stderr and
exit status 2 before anything runs. Ctrl-C saves the finished runs (exit
130); the same command resumes. The runs go through the sweep engine.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from sim.commandline import EXIT_INTERRUPTED, BadInput, OneLineParser
from sim.jobs.command import job_command
from sim.jobs.options import add_job_options, folder_parser

DEFAULT_ROOT = Path("results") / "studies"


def study_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py study",
        description=(
            "Scenario discovery: run a study (a Latin hypercube over a plausible region, with replications) on "
            "Dask, then answer who wins where: shares with intervals, PRIM boxes, a tree, a feature ranking and "
            "the mechanism inside each box, in OUT/report.md. Re-running the same command resumes."
        ),
        epilog="Example: python run.py study scenarios/studies/push_vs_dialogue.yaml --quick --workers 2",
    )
    parser.add_argument("study", metavar="STUDY.yaml", help="study YAML file (see docs/study.md)")
    parser.add_argument("--quick", action="store_true",
                        help="the study file's reduced design (quick: samples, replications); its own folder")
    add_job_options(parser, f"{DEFAULT_ROOT}/<name>/, or <name>-quick/", "results do not depend on it")
    parser.add_argument("--retry-failed", action="store_true", help="run again the runs stored as failed")
    return parser  # fmt: skip


def report_parser() -> OneLineParser:
    return folder_parser("python run.py study-report", "Rebuild a study's analysis, figures and report.md from its "
                         "stored runs (a partial study too).", "study")


def study_main(argv: list[str]) -> int:
    """``python run.py study STUDY.yaml [--quick] [--workers N] [--scheduler ADDRESS] [--out DIR]``."""
    return job_command(argv, study_parser, "study", _study, "finished runs")


def _study(args, state) -> int:
    from sim.study.report import build_report, summary_line
    from sim.study.spec import load_study

    study = load_study(args.study, quick=args.quick)
    out = state["saved"] = args.out or DEFAULT_ROOT / (study.name + ("-quick" if args.quick else ""))
    clock = time.perf_counter()
    outcome = run_study(study, out, workers=args.workers, scheduler=args.scheduler, retry_failed=args.retry_failed,
                        quiet=args.quiet, force=args.force, worker_timeout=args.wait_workers)  # fmt: skip
    if not outcome.tell(out):
        return EXIT_INTERRUPTED
    result, report = build_report(out)
    print(f"{summary_line(result)}\nreport: {report} (study and analysis: {time.perf_counter() - clock:.0f} s)")
    return 0


def run_study(study, out: str | Path, **options):
    """Write the study's files into OUT (once) and run its sweep; returns the sweep engine's outcome."""
    import yaml

    from sim.jobs.folder import atomic_write
    from sim.study.analysis import STUDY_FILE, STUDY_YAML
    from sim.study.model import StudyModel
    from sim.sweep.design import build_design
    from sim.sweep.execute import check_resources, run_sweep
    from sim.sweep.store import SweepFolder
    from sim.sweep.tasks import check_points, make_tasks

    out = Path(out)
    sweep, model = study.sweep(), StudyModel(study)
    workers = None if options.get("scheduler") else options.get("workers") or os.cpu_count() or 1
    check_resources(sweep, model, workers, options.get("force", False))  # before drawing a huge design
    folder = SweepFolder(out, kind="study")
    design = build_design(sweep)
    check_points(sweep, make_tasks(sweep, design, model), model)
    folder.check_compatible(sweep, design)  # refuse another sweep's or study's folder before writing anything
    folder.check_writable()
    folder.initialise(sweep, design)  # sweep.yaml and design.parquet, so study.yaml may sit beside them
    resolved = study.resolved_dict()
    atomic_write(out / STUDY_YAML, yaml.safe_dump(resolved, sort_keys=False, allow_unicode=True).encode("utf-8"))
    if study.text:
        atomic_write(out / STUDY_FILE, study.text.encode("utf-8"))
    return run_sweep(sweep, model, out, **options)


def study_report_main(argv: list[str]) -> int:
    """``python run.py study-report OUT``: analysis, figures and report from the stored runs."""
    return job_command(argv, report_parser, "study-report", _study_report, "", otherwise="the report was not rebuilt")


def _study_report(args, state) -> int:
    from sim.study.analysis import STUDY_YAML
    from sim.study.report import build_report, summary_line
    from sim.sweep.store import SweepFolder

    if not (args.out / STUDY_YAML).exists():
        raise BadInput(f"{args.out}: not a study folder (no {STUDY_YAML})")
    SweepFolder(args.out, kind="study").check_writable()
    result, report = build_report(args.out)
    print(summary_line(result))
    print(f"report: {report}")
    return 0
