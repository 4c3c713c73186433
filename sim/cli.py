"""The command line: parse arguments, load the scenario, hand work to the runners.

No model rules live here. Bad input ends with one line on stderr and exit
status 2, never a traceback, and before any results folder is made.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from pathlib import Path

import yaml

from sim.runs.provenance import base_metadata, utc_now
from sim.scenario import Scenario, ScenarioError, load_scenario

SCENARIO_DIR = Path("scenarios")
DEFAULT_SCENARIO = SCENARIO_DIR / "duel.yaml"
EXIT_BAD_INPUT = 2
# other commands live in their own modules: name -> (module, function taking argv)
SUBCOMMANDS = {
    "viz": ("sim.viz.server", "viz_main"),
    "sweep": ("sim.sweep.cli", "sweep_main"),
    "sweep-report": ("sim.sweep.cli", "sweep_report_main"),
    "calibrate": ("sim.calibration.cli", "calibrate_main"),
    "calibrate-report": ("sim.calibration.cli", "calibrate_report_main"),
    "validate": ("sim.validation.cli", "validate_main"),
    "study": ("sim.study.cli", "study_main"),
    "study-report": ("sim.study.cli", "study_report_main"),
}


class BadInput(Exception):
    """Input the user must fix; printed as one line, exit status 2."""


def program_name(argv0: str | None = None) -> str:
    """The command as the user started it: 'python run.py', 'python -m sim' or 'attention-market'."""
    path = Path(sys.argv[0] if argv0 is None else argv0)
    if path.name == "__main__.py" and path.parent.name == "sim":
        return "python -m sim"
    if path.name == "attention-market" or path.stem == "attention-market":
        return "attention-market"
    return "python run.py"


class OneLineParser(argparse.ArgumentParser):
    """argparse, but usage errors are one line and exit status 2; help names the command as it was started."""

    def __init__(self, *args, **kwargs):
        program = program_name()
        for key in ("prog", "description", "epilog"):
            if isinstance(kwargs.get(key), str):
                kwargs[key] = kwargs[key].replace("python run.py", program)
        super().__init__(*args, **kwargs)

    def error(self, message):
        raise BadInput(f"{message} (see {self.prog} --help)")


def run_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python run.py",
        description=(
            "Run an attention-market scenario: replications in parallel, then a results folder "
            "with tables, figures, a report and provenance. Other commands: "
            "'python run.py list' lists the shipped scenarios; 'python run.py viz --help' serves the "
            "classroom demo in a browser; 'python run.py sweep --help' runs parameter sweeps; "
            "'python run.py sweep-report --help' rebuilds a sweep's analysis."
        ),
        epilog="Example: python run.py scenarios/duel.yaml --set attention_mean=10 --replications 10 --workers 2",
    )
    parser.add_argument(
        "scenario", nargs="?", default=str(DEFAULT_SCENARIO),
        help=f"scenario YAML file (default: {DEFAULT_SCENARIO})",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a scenario value with a dotted key, e.g. attention_mean=10 or "
        "firms.broadcast.ads_per_day=0; repeatable; the same keys work in the YAML",
    )
    parser.add_argument("--replications", type=int, help="number of replications (default: the scenario's)")
    parser.add_argument("--seed", type=int, help="base seed; replication r uses a seed derived from (seed, r)")
    parser.add_argument(
        "--workers", type=int, default=None,
        help="worker processes (default: min(replications, CPU cores)); results do not depend on it",
    )
    parser.add_argument(
        "--out", type=Path, default=None,
        help="results folder (default: results/<scenario>/<UTC timestamp>-<config hash>/)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no summary table")
    return parser


def resolve_scenario(path: str, overrides: list[str], seed: int | None = None, replications: int | None = None) -> Scenario:
    """Load the YAML, apply --set overrides, --seed and --replications."""
    if replications is not None and replications < 1:
        raise BadInput(f"--replications: must be at least 1 (got {replications})")
    if seed is not None and seed < 0:
        raise BadInput(f"--seed: must be >= 0 (got {seed})")
    extra = list(overrides)
    extra += [f"seed={seed}"] if seed is not None else []
    extra += [f"replications={replications}"] if replications is not None else []
    return load_scenario(path, extra)


def list_scenarios() -> int:
    """Print the shipped scenarios with their one-line descriptions."""
    for path in sorted(SCENARIO_DIR.glob("*.yaml")):
        try:
            description = (yaml.safe_load(path.read_text()) or {}).get("description", "")
        except yaml.YAMLError:
            description = "(unreadable YAML)"
        first = " ".join(str(description).split())
        print(f"{path.as_posix():<36} {first}")
    return 0


def command_run(argv: list[str]) -> int:
    from sim.runs.results import OutputError, check_writable, default_folder

    args = run_parser().parse_args(argv)
    scenario = resolve_scenario(args.scenario, args.overrides, args.seed, args.replications)
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: must be at least 1 (got {args.workers})")
    started = utc_now()
    folder = args.out or default_folder(scenario, started)
    try:
        check_writable(folder)
    except OutputError as err:
        raise BadInput(str(err)) from None
    workers = args.workers or min(scenario.replications, os.cpu_count() or 1)
    final = execute_run(scenario, folder, workers, quiet=args.quiet or not sys.stderr.isatty(), started=started)
    if not args.quiet:
        print_summary(final)
    print(final)
    return 0


def execute_run(scenario: Scenario, folder: Path, workers: int, quiet: bool, started) -> Path:
    """Run the replications with a progress bar and write the results folder."""
    from tqdm import tqdm

    from sim.runs.results import write_results
    from sim.runs.runner import replication_seed, run_replications

    clock = time.perf_counter()
    with tqdm(total=scenario.replications, desc=scenario.name, unit="rep", disable=quiet) as bar:
        reps = run_replications(
            scenario.model_kwargs(), scenario.seed, scenario.replications, workers, on_done=lambda _: bar.update()
        )
    metadata = {
        "scenario": scenario.name,
        "seed": scenario.seed,
        "replications": scenario.replications,
        "replication_seeds": [replication_seed(scenario.seed, r) for r in range(scenario.replications)],
        "workers": workers,
        **base_metadata(),
        "started_utc": started.isoformat(),
        "finished_utc": utc_now().isoformat(),
        "wall_time_seconds": time.perf_counter() - clock,
        "wall_time_per_replication": [round(r.wall_time, 3) for r in reps],
    }
    return write_results(folder, scenario, reps, metadata)


def print_summary(folder: Path) -> None:
    import pandas as pd

    stats = pd.read_csv(folder / "summary_stats.csv")
    table = stats.pivot(index="metric", columns="firm", values="mean")
    print(table.to_string(float_format=lambda x: f"{x:,.3f}"))


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "list":
            return list_scenarios()
        if argv and argv[0] in SUBCOMMANDS:
            module, function = SUBCOMMANDS[argv[0]]
            return getattr(importlib.import_module(module), function)(argv[1:])
        return command_run(argv)
    except (BadInput, ScenarioError) as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except KeyboardInterrupt:
        print("interrupted: no results folder was written", file=sys.stderr)
        return 130
