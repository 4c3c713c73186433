"""Shared pieces of the study tests: a tiny study file and a folder of made-up stored runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import yaml

from sim.study.analysis import STUDY_YAML
from sim.study.model import FIRM_METRICS, StudyModel
from sim.study.spec import study_from_dict
from sim.sweep.store import SweepFolder
from sim.sweep.tasks import columns
from tests.sweep_helpers import REPO, tiny_scenario, write_yaml

__all__ = ["REPO", "study_file", "stored_study"]


def study_file(tmp_path: Path, name: str = "study.yaml", **changes) -> Path:
    """A tiny study of the tiny duel: 8 points x 2 replications of a 12 x 12, 30-day world."""
    data = {
        "name": "tiny_study",
        "question": "Does push lose late reach to dialogue?",
        "scenario": str(tiny_scenario(tmp_path)),
        "overrides": {"steps": 30},
        "region": {
            "attention_mean": {"bounds": [5, 60]},
            "ranking": {"values": ["engagement", "chronological"]},
            "firms.broadcast.ads_per_day": {"bounds": [0, 20]},
        },
        "samples": 8,
        "replications": 2,
        "seed": 1,
        "quick": {"samples": 4, "replications": 2},
    }
    data.update(changes)
    return write_yaml(tmp_path / name, data)


def stored_study(tmp_path: Path, points: int = 40, contested: tuple[int, ...] = (3, 17), threshold: float = 30.0):
    """A study folder whose stored runs follow a known rule: broadcast wins late where
    attention_mean < threshold, dialogue elsewhere; early, broadcast wins everywhere;
    at the ``contested`` points the two replications disagree on the late winner."""
    study = study_from_dict(yaml.safe_load(study_file(tmp_path).read_text()), "fixture.yaml")
    model = StudyModel(study)
    out = tmp_path / "fixture_out"
    folder = SweepFolder(out)
    folder.runs.mkdir(parents=True)
    (out / STUDY_YAML).write_text(yaml.safe_dump({**study.resolved_dict(), "samples": points}, sort_keys=False))
    rng = np.random.default_rng(7)
    attention = np.linspace(5, 60, points)
    rows = []
    for s in range(points):
        for r in range(2):
            b_wins = attention[s] < threshold
            if s in contested:
                b_wins = r == 0
            late_b, late_d = (200.0, 100.0) if b_wins else (100.0, 200.0)
            row = {"run_id": f"run-{s}-{r}", "sample": s, "replication": r, "seed": s * 10 + r,
                   "unit:attention_mean": 0.5, "unit:ranking": 0.5, "unit:firms.broadcast.ads_per_day": 0.5,
                   "attention_mean": float(attention[s]), "ranking": ["engagement", "chronological"][s % 2],
                   "firms.broadcast.ads_per_day": int(rng.integers(0, 61))}  # fmt: skip
            for f in study.firms:
                row.update({f"{f}.{m}": float(rng.uniform(0, 10)) for m in FIRM_METRICS})
            row.update({"broadcast.late_reach": late_b, "dialogue.late_reach": late_d,
                        "broadcast.early_reach": 300.0, "dialogue.early_reach": 50.0,
                        "winner": "broadcast" if b_wins else "dialogue", "early_winner": "broadcast",
                        "late_reach_gap": late_d - late_b, "early_reach_gap": -250.0, "crossover_day": np.nan,
                        "status": "ok", "error": None, "traceback": None, "wall_time": 0.1})  # fmt: skip
            rows.append(row)
    folder.write_part(rows, columns(study.sweep(), model))
    return out, attention
