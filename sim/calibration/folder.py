"""A calibration's results folder: what it holds, and the guard that refuses a changed calibration.

    OUT/calibration.yaml      the resolved calibration (base configuration and bands spelled out)
    OUT/history.db            pyabc's SQLite history: every generation, resumable
    OUT/metadata.json         provenance of every session that ran generations
    OUT/posterior.parquet     the last generation: parameters, weight, distance
    OUT/posterior_summary.csv weighted median and 90% credible interval per parameter
    OUT/predictive.parquet    posterior-predictive runs (calibrated and default worlds)
    OUT/reachability.csv      per fact: the range of model values over every stored particle
    OUT/calibrated.yaml       a full scenario at the posterior median
    OUT/figures/, OUT/report.md
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import yaml

from sim.calibration.spec import Calibration, CalibrationError, calibration_from_dict, differs
from sim.sweep.store import atomic_write

LEFTOVERS = ("dask-scratch",)


class CalibrationFolder:
    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.spec = self.out / "calibration.yaml"
        self.history = self.out / "history.db"
        self.metadata = self.out / "metadata.json"
        self.posterior = self.out / "posterior.parquet"
        self.summary = self.out / "posterior_summary.csv"
        self.predictive = self.out / "predictive.parquet"
        self.calibrated = self.out / "calibrated.yaml"
        self.figures = self.out / "figures"
        self.report = self.out / "report.md"
        self.scratch = self.out / "dask-scratch"

    def stored(self) -> dict[str, Any] | None:
        if not self.spec.exists():
            return None
        return yaml.safe_load(self.spec.read_text(encoding="utf-8"))

    def check_compatible(self, calibration: Calibration) -> None:
        """Refuse a folder holding anything but this calibration (a changed file is never mixed in)."""
        stored = self.stored()
        if stored is None:
            if self.out.exists() and (not self.out.is_dir() or any(p.name not in LEFTOVERS for p in self.out.iterdir())):
                raise CalibrationError(f"--out {self.out}: exists and is not a calibration folder "
                                       "(no calibration.yaml); use another --out")  # fmt: skip
            return
        difference = differs(stored, calibration)
        if difference:
            raise CalibrationError(
                f"--out {self.out}: holds a different calibration ({difference}); "
                "use another --out, or restore the calibration file to resume"
            )

    def initialise(self, calibration: Calibration) -> None:
        """Write calibration.yaml (again on resume: the stopping rules may have been raised)."""
        self.out.mkdir(parents=True, exist_ok=True)
        if True:
            header = f"# resolved calibration {calibration.name}; fingerprint {calibration.fingerprint()}\n"
            text = yaml.safe_dump(calibration.resolved_dict(), sort_keys=False, allow_unicode=True)
            atomic_write(self.spec, (header + text).encode("utf-8"))

    def load(self) -> Calibration:
        """The calibration this folder holds (for calibrate-report)."""
        stored = self.stored()
        if stored is None or not self.history.exists():
            raise CalibrationError(f"{self.out}: not a calibration folder (no calibration.yaml and history.db)")
        return calibration_from_dict(stored, str(self.spec))

    def sessions(self) -> list[dict[str, Any]]:
        if not self.metadata.exists():
            return []
        return json.loads(self.metadata.read_text(encoding="utf-8")).get("sessions", [])

    def _write_sessions(self, sessions: list[dict[str, Any]]) -> None:
        atomic_write(self.metadata, json.dumps({"sessions": sessions}, indent=2, default=str).encode("utf-8"))

    def add_session(self, session: dict[str, Any]) -> None:
        """Append a session's record (at its start: ``finished_utc`` None until `finish_session`)."""
        self._write_sessions(self.sessions() + [session])

    def finish_session(self, session: dict[str, Any] | None) -> None:
        """Replace the last (this session's) record with its final one; None drops it."""
        sessions = self.sessions()[:-1]
        self._write_sessions(sessions + ([session] if session is not None else []))


def write_text(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text.encode("utf-8"))


def write_parquet(path: Path, frame) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)
