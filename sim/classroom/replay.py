"""Replay a classroom game from its log: the same seed, firms and rules give the same numbers.

`replay` rebuilds the scenario the log recorded (not the file, which may
have changed since), plays every logged round with the logged strategies
and platform rules, and compares each firm's results with those the class
saw. `python run.py classroom --replay LOG` prints the comparison and can
write the debrief table as CSV.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim.classroom import gamelog, levers, results
from sim.classroom.session import build_for, play_round
from sim.scenario import Scenario, ScenarioError, validate_config


@dataclass
class Replay:
    """The replayed rounds, the logged ones, and every difference between them."""

    session: dict[str, Any]
    names: dict[str, str]
    logged: list[dict[str, Any]]
    replayed: list[dict[str, Any]]
    differences: list[str]
    scenario: Scenario | None = None
    model: Any = None  # the model after the last replayed round

    @property
    def matches(self) -> bool:
        return not self.differences

    def table(self) -> pd.DataFrame:
        """The replayed debrief table (the debrief page's CSV, recomputed)."""
        return results.debrief_table(self.replayed, self.names)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def replay(path: str | Path, allow_empty: bool = False) -> Replay:
    """Re-run the game logged at ``path``; raises LogError/ScenarioError for a log that cannot be replayed."""
    records = gamelog.read_log(path)
    session = records[0]
    scenario = validate_config(session["scenario"], source=f"{path}: scenario", cls=Scenario)
    lever_list = levers.teacher_levers(tuple(session.get("levers", levers.TEACHER_LEVERS)))
    names = {r["firm"]: r["name"] for r in records if r["event"] == "join"}
    logged = [r for r in records if r["event"] == "round"]
    steps = int(session["rounds"]) * int(session["days_per_round"])
    model, replayed, differences = None, [], []
    for record in logged:
        plan = {k: record[k] for k in ("round", "days", "firms", "levers", "started_by", "ready")}
        if model is None:
            model = build_for(scenario, plan, int(session["seed"]), steps)
        again = play_round(model, plan, lever_list)
        replayed.append(again)
        for firm, outcome in record["results"].items():
            for key, value in outcome.items():
                new = again["results"].get(firm, {}).get(key)
                if not _same(value, new):
                    differences.append(f"round {record['round']}, {names.get(firm, firm)}, {key}: "
                                       f"logged {value}, replayed {new}")  # fmt: skip
    if not logged and not allow_empty:
        raise ScenarioError(f"{path}: the log has no played round to replay")
    return Replay(session, names, logged, replayed, differences, scenario, model)
