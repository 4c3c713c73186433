"""The study's analysis from its stored runs: tables in OUT/analysis/.

`analyse` reads OUT/study.yaml and the runs the sweep engine stored, and
computes everything the report shows: the design points (replications
averaged), the answer (answer.csv), a PRIM box per class (prim_<class>.csv
and its peeling trajectory), the feature ranking, the classification tree
and the mechanism inside and outside each box. It works on a partial study:
only complete design points (all replications stored ok) enter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from sim.study.discovery import Box, classification_tree, feature_ranking, mechanism_table, prim_box
from sim.study.outcomes import answer_table, discovery_labels, incomplete_points, point_table
from sim.jobs.folder import atomic_write
from sim.sweep.store import SweepFolder
from sim.sweep.tasks import STATUS_OK

STUDY_YAML = "study.yaml"
STUDY_FILE = "study_file.yaml"
MECHANISM = ("late_organic_reach", "late_paid_reach", "late_earned_reach", "late_reply_reach",
             "late_followers", "late_fatigue", "cascade_mean", "cascade_max")  # fmt: skip


@dataclass
class StudyAnalysis:
    """Everything the report shows, computed from the stored runs."""

    study: dict[str, Any]
    runs_stored: int
    runs_ok: int
    runs_failed: int
    failures: pd.DataFrame
    points: pd.DataFrame
    incomplete: int
    answer: pd.DataFrame
    labels: pd.Series
    classes: list[str]
    boxes: dict[str, Box] = field(default_factory=dict)
    ranking: pd.DataFrame = field(default_factory=pd.DataFrame)
    tree: Any = None
    tree_features: list[str] = field(default_factory=list)
    tree_text: str = ""
    tree_accuracy: float = float("nan")
    mechanism: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def firms(self) -> list[str]:
        return list(self.study["firms"])

    @property
    def keys(self) -> list[str]:
        return list(self.study["kinds"])

    @property
    def runs_expected(self) -> int:
        return int(self.study["samples"]) * int(self.study["replications"])

    def x(self) -> pd.DataFrame:
        """The parameter values of the complete design points."""
        x = self.points[self.keys].copy()
        for key, kind in self.study["kinds"].items():
            x[key] = x[key].astype(str) if kind == "category" else x[key].astype(float)
        return x


def read_study(out: str | Path) -> dict[str, Any]:
    return yaml.safe_load((Path(out) / STUDY_YAML).read_text(encoding="utf-8"))


def analyse(out: str | Path) -> StudyAnalysis:
    """The analysis of a study folder, from whatever runs it holds."""
    study = read_study(out)
    runs = SweepFolder(out).read_runs()
    keys, firms, reps = list(study["kinds"]), list(study["firms"]), int(study["replications"])
    points = point_table(runs, keys, firms, reps)
    ok = int((runs["status"] == STATUS_OK).sum()) if len(runs) else 0
    failures = runs[runs["status"] != STATUS_OK] if len(runs) else pd.DataFrame()
    labels, classes = (discovery_labels(points, study["outcome"], firms) if len(points)
                       else (pd.Series(dtype=str), []))  # fmt: skip
    result = StudyAnalysis(
        study=study, runs_stored=len(runs), runs_ok=ok, runs_failed=len(runs) - ok,
        failures=failures, points=points, incomplete=incomplete_points(runs, reps),
        answer=answer_table(points, firms), labels=labels, classes=classes,
    )  # fmt: skip
    if len(points) >= 4 and labels.nunique() >= 2:
        x = result.x()
        result.boxes = {c: prim_box(x, (labels == c).to_numpy(), c) for c in classes}
        seed = int(study["seed"])
        result.ranking = feature_ranking(x, labels, seed)
        result.tree, result.tree_features, result.tree_text, result.tree_accuracy = classification_tree(x, labels, seed)
        result.mechanism = mechanism_table(points, result.boxes, firms, list(MECHANISM))
    return result


def file_label(label: str) -> str:
    """A class name as part of a file name (prim_<label>.csv)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", label)


def write_tables(result: StudyAnalysis, out: str | Path) -> Path:
    """OUT/analysis/: answer.csv, points.csv, prim_<class>.csv and its trajectory, ranking, tree, mechanism."""
    folder = Path(out) / "analysis"
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("prim_*.csv"):
        old.unlink()
    _csv(result.answer, folder / "answer.csv")
    _csv(result.points, folder / "points.csv")
    for label, box in result.boxes.items():
        stats = box.stats
        table = box.limits.assign(coverage=stats["coverage"], density=stats["density"], mass=stats["mass"],
                                  cases=box.cases, n=box.n)  # fmt: skip
        if table.empty:  # an unrestricted box still states its coverage and density
            table = pd.DataFrame([{"parameter": "", "kind": "", "low": np.nan, "high": np.nan, "values": "",
                                   "qp": np.nan, **stats, "cases": box.cases, "n": box.n}])  # fmt: skip
        _csv(table, folder / f"prim_{file_label(label)}.csv")
        _csv(box.trajectory.assign(chosen=box.trajectory.index == box.chosen),
             folder / f"prim_{file_label(label)}_trajectory.csv")  # fmt: skip
    if not result.ranking.empty:
        _csv(result.ranking, folder / "feature_ranking.csv")
    if result.tree_text:
        atomic_write(folder / "tree.txt", result.tree_text.encode("utf-8"))
    if not result.mechanism.empty:
        _csv(result.mechanism, folder / "mechanism.csv")
    summary = {"runs_expected": result.runs_expected, "runs_stored": result.runs_stored, "runs_ok": result.runs_ok,
               "runs_failed": result.runs_failed, "points_complete": len(result.points),
               "points_incomplete": result.incomplete, "tree_accuracy": result.tree_accuracy}  # fmt: skip
    atomic_write(folder / "summary.json", (json.dumps(summary, indent=2) + "\n").encode("utf-8"))
    return folder


def _csv(frame: pd.DataFrame, path: Path) -> None:
    atomic_write(path, frame.to_csv(index=False).encode("utf-8"))
