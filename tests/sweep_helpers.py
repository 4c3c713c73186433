"""Shared pieces of the sweep tests: a tiny duel, sweep files, running the command line."""

from __future__ import annotations

import math
from pathlib import Path

import yaml

from sim.sweep.cli import sweep_main, sweep_report_main

REPO = Path(__file__).resolve().parent.parent

TINY_DUEL = {
    "name": "tiny_duel",
    "seed": 5,
    "width": 12,
    "height": 12,
    "steps": 30,
    "home_radius": 2,
    "firms": [
        {"name": "broadcast", "preset": "broadcast", "ads_per_day": 30, "budget": 6.3},
        {"name": "dialogue", "preset": "dialogue", "budget": 3},
    ],
}

ISHIGAMI = {
    "name": "ishigami",
    "method": "sobol",
    "samples": 1024,
    "seed": 3,
    "parameters": {k: {"bounds": [-math.pi, math.pi]} for k in ("x1", "x2", "x3")},
    "outputs": ["y"],
}


def write_yaml(path: Path, data: dict) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def tiny_scenario(tmp_path: Path) -> Path:
    return write_yaml(tmp_path / "tiny_duel.yaml", TINY_DUEL)


def sweep_file(tmp_path: Path, name: str = "sweep.yaml", **changes) -> Path:
    """A small sweep of the tiny duel (a grid unless ``method`` says otherwise)."""
    data = {
        "name": "tiny_sweep",
        "scenario": str(tiny_scenario(tmp_path)),
        "overrides": {"steps": 30},
        "method": "grid",
        "replications": 2,
        "seed": 1,
        "parameters": {"attention_mean": {"values": [5, 30]}, "pages_followed": {"values": [0, 109]}},
        "outputs": ["late_reach_gap", "winner", "dialogue.late_reach", "broadcast.late_reach", "crossover_day"],
    }
    data.update(changes)
    return write_yaml(tmp_path / name, data)


def run_sweep_cli(*args) -> int:
    return sweep_main([str(a) for a in args])


def run_report_cli(*args) -> int:
    return sweep_report_main([str(a) for a in args])
