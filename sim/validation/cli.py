"""``python run.py validate``: run a scenario's replications and set them against published figures.

Bad input (a bad facts file, scenario, override or output folder) ends in
one line on stderr and exit status 2 before anything runs (the dispatcher
in `sim.cli` prints it). The results folder is written atomically, with
provenance as for scenario runs.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

from sim.commandline import BadInput, OneLineParser, resolve_scenario
from sim.runs.provenance import utc_now
from sim.runs.results import default_folder
from sim.scenario.paths import DEFAULT_SCENARIO, find_shipped
from sim.validation.facts import DEFAULT_FACTS, FactTable, load_facts
from sim.validation.quantities import QUANTITIES

DEFAULT_ROOT = Path("results") / "validation"
MAX_SEED = 2**63 - 1  # the seeds calibrate, sweep and study take


def validate_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="python run.py validate",
        description=(
            "Run a scenario's replications and compare the model with published figures (organic reach, "
            "feed share shown, engagement, cascades, popularity tail, unfollowing, ad action rate, follower "
            "growth): validation.csv, a figure, report.md and provenance in a results folder."
        ),
        epilog="Example: python run.py validate scenarios/duel.yaml --replications 4 --workers 2",
    )
    parser.add_argument("scenario", nargs="?", default=str(DEFAULT_SCENARIO),
                        help=f"scenario YAML file (default: {DEFAULT_SCENARIO})")
    parser.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                        help="override a scenario value, e.g. attention_mean=10; repeatable")
    parser.add_argument("--replications", type=int, help="number of replications (default: the scenario's)")
    parser.add_argument("--seed", type=int, help="base seed; replication r uses a seed derived from (seed, r)")
    parser.add_argument("--workers", type=int, default=None,
                        help="worker processes (default: min(replications, CPU cores)); results do not depend on it")
    parser.add_argument("--facts", type=Path, default=None, metavar="FILE",
                        help=f"facts file in the format of {DEFAULT_FACTS.relative_to(DEFAULT_FACTS.parents[2])} "
                        "(default: that file)")
    parser.add_argument("--out", type=Path, default=None, metavar="DIR",
                        help=f"results folder (default: {DEFAULT_ROOT}/<scenario>/<UTC timestamp>-<config hash>/)")
    parser.add_argument("--list", action="store_true", help="print the fact ids and the model quantities, then exit")
    parser.add_argument("--quiet", action="store_true", help="no progress bar and no table")
    return parser  # fmt: skip


def print_list(facts: FactTable) -> None:
    """The facts (id, quantity, range, source) and every model quantity with its definition."""
    print("facts:")
    for fact in facts.facts:
        print(f"  {fact.id:<20} {fact.quantity:<34} [{fact.low:g}, {fact.high:g}]  {fact.source.authors}, {fact.source.year}")
    print("model quantities:")
    for q in QUANTITIES.values():
        print(f"  {q.name:<34} ({q.unit}) {q.description}")


def validate_main(argv: list[str]) -> int:
    """Parse, check every input, run, write the folder, print where it is."""
    from sim.runs.folders import OutputError, WriteFailed, check_writable, claim_folder, os_error_line

    args = validate_parser().parse_args(argv)
    facts = load_facts(find_shipped(args.facts) if args.facts is not None else None)  # as every command finds files
    if args.list:
        print_list(facts)
        return 0
    scenario = resolve_scenario(args.scenario, args.overrides, args.seed, args.replications)
    if args.workers is not None and args.workers < 1:
        raise BadInput(f"--workers: must be at least 1 (got {args.workers})")
    if scenario.seed > MAX_SEED:
        raise BadInput(f"{'--seed' if args.seed is not None else 'seed'}: must be between 0 and {MAX_SEED}, the "
                       f"range calibrate, sweep and study take (got {scenario.seed})")  # fmt: skip
    from sim.validation.report import unmeasurable_sentence

    short = unmeasurable_sentence(facts, scenario.steps)
    if short:
        print(f"warning:{short}", file=sys.stderr)
    started = utc_now()
    folder = args.out or default_folder(scenario, started, root=DEFAULT_ROOT)
    try:
        check_writable(folder)
    except OutputError as err:
        raise BadInput(str(err)) from None
    workers = args.workers or min(scenario.replications, os.cpu_count() or 1)
    quiet = args.quiet or not sys.stderr.isatty()
    try:
        with claim_folder(folder) as claim:  # locked before computing: a second validate on this --out is refused
            final = execute_validation(scenario, facts, claim, workers, quiet, started)
    except OutputError as err:  # another process holds the folder, or it filled meanwhile
        raise BadInput(str(err)) from None
    except OSError as err:  # a full disk, a quota: the partial folder is removed with the claim
        raise WriteFailed(f"writing the results folder {folder} failed: {os_error_line(err)}; nothing was kept") from None
    if not args.quiet:
        import pandas as pd

        table = pd.read_csv(final / "validation.csv")
        print(table[["fact", "model_mean", "ci_low", "ci_high", "range_low", "range_high", "verdict"]]
              .to_string(index=False, float_format=lambda x: f"{x:.4g}"))  # fmt: skip
    print(final)
    return 0


def execute_validation(scenario, facts: FactTable, claim, workers: int, quiet: bool, started) -> Path:
    """Run the replications with a progress bar, compute the quantities, write the claimed folder atomically."""
    from tqdm import tqdm

    from sim.runs.results import combine
    from sim.runs.session import run_with_provenance
    from sim.validation.figure import plot_validation
    from sim.validation.quantities import quantities_by_replication
    from sim.validation.report import write_validation_report
    from sim.validation.verdict import compare

    with tqdm(total=scenario.replications, desc=f"validate {scenario.name}", unit="rep", disable=quiet) as bar:
        reps, metadata = run_with_provenance(scenario, workers, on_done=lambda _: bar.update(), started=started,
                                             command="validate")  # fmt: skip
    values = quantities_by_replication(combine(reps), facts.quantities())
    table = compare(facts, values)
    partial = claim.partial
    (partial / "config.yaml").write_text(yaml.safe_dump(scenario.resolved_dict(), sort_keys=False, allow_unicode=True))
    (partial / "facts.yaml").write_text(yaml.safe_dump(facts.model_dump(mode="json"), sort_keys=False, allow_unicode=True))
    values.to_csv(partial / "quantities.csv", index=False)
    table.to_csv(partial / "validation.csv", index=False)
    figure = plot_validation(table, partial / "validation.png", f"{scenario.name} against published figures")
    write_validation_report(partial / "report.md", scenario, table, facts, figure, metadata)
    (partial / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str) + "\n")
    return claim.commit()
