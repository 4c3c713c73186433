"""The command line: parse arguments, load the scenario, run, print.

No model rules live here. Bad input ends with one line on stderr and exit
status 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from sim.scenario import Scenario, ScenarioError, load_scenario

DEFAULT_SCENARIO = Path("scenarios/duel.yaml")
EXIT_BAD_INPUT = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python run.py",
        description="Run an attention-market scenario and print a per-firm summary.",
    )
    parser.add_argument(
        "scenario", nargs="?", default=str(DEFAULT_SCENARIO),
        help=f"scenario YAML file (default: {DEFAULT_SCENARIO})",
    )
    parser.add_argument(
        "--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
        help="override a scenario value with a dotted key, e.g. attention_mean=10 "
        "or firms.broadcast.ads_per_day=0 (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=None, help="random seed (default: the scenario's seed)")
    return parser


def resolve_scenario(path: str, overrides: list[str], seed: int | None) -> Scenario:
    """Load the YAML, apply --set overrides and --seed; raise ScenarioError on bad input."""
    extra = list(overrides) + ([f"seed={seed}"] if seed is not None else [])
    return load_scenario(path, extra)


def run_once(scenario: Scenario) -> pd.DataFrame:
    """Run one replication and return the per-firm run summary."""
    from sim.model import MarketModel
    from sim.outputs import run_summary

    model = MarketModel(seed=scenario.seed, **scenario.model_kwargs())
    while model.running:
        model.step()
    return run_summary(model.firm_table(), model.cascade_table())


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        scenario = resolve_scenario(args.scenario, args.overrides, args.seed)
    except ScenarioError as err:
        print(f"error: {err}", file=sys.stderr)
        return EXIT_BAD_INPUT
    summary = run_once(scenario)
    print(f"{scenario.name}: {scenario.width} x {scenario.height} users, {scenario.steps} days, seed {scenario.seed}")
    print(summary.to_string(index=False, float_format=lambda x: f"{x:,.3f}"))
    return 0
