"""A calibration's results folder: what it holds, the guard that refuses a changed calibration, repair.

    OUT/calibration.yaml      the resolved calibration (base configuration and bands spelled out)
    OUT/history.db            pyabc's SQLite history: every generation, resumable
    OUT/metadata.json         provenance of every session that ran generations
    OUT/posterior.parquet     the last generation: parameters, weight, distance
    OUT/posterior_summary.csv weighted median and 90% credible interval per parameter
    OUT/predictive.parquet    posterior-predictive runs (calibrated and default worlds)
    OUT/reachability.csv      per fact: the range of model values over every stored particle
    OUT/calibrated.yaml       a full scenario at the posterior median
    OUT/figures/, OUT/report.md

A calibration of several structures (model selection) writes, instead of
the posterior files at the top:

    OUT/model_probabilities.csv        generation, structure, probability
    OUT/structures/NAME/               each structure's posterior.parquet, posterior_summary.csv,
                                       reachability.csv, predictive.parquet and figures/
    OUT/calibrated_NAME.yaml           a scenario at each structure's posterior median (structures with mass)
    OUT/answer.csv                     the duel's answer per structure and averaged over them

The lock, metadata and damaged-file handling are the jobs' (`sim.jobs.folder`):
one calibrate at a time samples into a folder. A damaged file never stops
the folder: a garbled calibration.yaml is set aside and rewritten when the
sessions' recorded fingerprint matches; a history.db that SQLite cannot
read, or one a kill left without its version table (it holds no
generation then), is set aside and sampling starts again.
"""

from __future__ import annotations

import fcntl
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from sim.calibration.spec import Calibration, CalibrationError, calibration_from_dict, differs
from sim.jobs.errors import reason
from sim.jobs.folder import JobFolder, atomic_write, write_parquet, write_text

__all__ = ["CalibrationFolder", "write_parquet", "write_text"]
LEFTOVERS = ("dask-scratch", ".calibration.lock", ".report.lock")


class CalibrationFolder(JobFolder):
    kind = "calibration"
    lock_name = ".calibration.lock"
    error = CalibrationError
    subfolders = ("figures",)

    def __init__(self, out: str | Path):
        super().__init__(out)
        self.spec = self.out / "calibration.yaml"
        self.history = self.out / "history.db"
        self.metadata = self.metadata_json
        self.posterior = self.out / "posterior.parquet"
        self.summary = self.out / "posterior_summary.csv"
        self.predictive = self.out / "predictive.parquet"
        self.calibrated = self.out / "calibrated.yaml"
        self.figures = self.out / "figures"
        self.report = self.out / "report.md"
        self.model_probabilities = self.out / "model_probabilities.csv"
        self.answer = self.out / "answer.csv"
        self.bad_spec = False

    def structure(self, name: str) -> CalibrationFolder:
        """The folder of one structure's posterior files (OUT/structures/NAME), laid out as a one-structure
        calibration's (posterior.parquet, posterior_summary.csv, predictive.parquet, figures/)."""
        sub = CalibrationFolder(self.out / "structures" / name)
        sub.calibrated = self.out / f"calibrated_{name}.yaml"
        return sub

    # -- the calibration it holds --------------------------------------------------

    def stored(self, repair: bool = True) -> dict[str, Any] | None:
        """The resolved calibration in calibration.yaml; None if absent, or damaged (then set aside; without
        ``repair``, a damaged one is a CalibrationError that says how to restore it)."""
        if not self.spec.exists():
            return None
        try:
            stored = yaml.safe_load(self.spec.read_text(encoding="utf-8"))
            single = isinstance(stored, dict) and "parameters" in stored and "base" in stored
            if not (single or isinstance(stored, dict) and isinstance(stored.get("structures"), list)):
                raise ValueError("not a resolved calibration")
            return stored
        except (OSError, ValueError, yaml.YAMLError) as err:
            if not (self.history.exists() or self.metadata_json.exists()):  # not ours: someone's own file
                raise CalibrationError(f"{self.out}: not a calibration folder (its calibration.yaml is not one "
                                       "calibrate wrote, and there is no history.db); use another "
                                       "--out") from None  # fmt: skip
            if not repair:
                raise CalibrationError(f"{self.spec}: unreadable ({reason(err)}); restore it with python run.py "
                                       f"calibrate FILE --out {self.out} (the same calibration "
                                       "file)") from None  # fmt: skip
            self.bad_spec = True
            self.set_aside(self.spec, f"unreadable ({reason(err)})", "it is rewritten from the calibration "
                           "file when calibrate runs again with this --out")  # fmt: skip
            return None

    def check_compatible(self, calibration: Calibration) -> None:
        """Refuse a folder holding anything but this calibration (a changed file is never mixed in)."""
        self.check_history()
        stored = self.stored()
        if stored is None:
            if self.bad_spec or any(self.out.glob("calibration.yaml.bad*")):
                recorded = [s.get("fingerprint") for s in self.sessions() if s.get("fingerprint")]
                if self.history.exists() and (not recorded or recorded[-1] != calibration.fingerprint()):
                    raise CalibrationError(f"--out {self.out}: calibration.yaml was damaged and no session in "
                                           "metadata.json records this calibration's fingerprint, so its history.db "
                                           "cannot be checked; use another --out")  # fmt: skip
                return
            leftovers = (*LEFTOVERS, "metadata.json", "metadata.json.bad", "history.db.bad")
            if self.out.exists() and (not self.out.is_dir() or any(p.name not in leftovers for p in self.out.iterdir())):
                raise CalibrationError(f"--out {self.out}: exists and is not a calibration folder "
                                       "(no calibration.yaml); use another --out")  # fmt: skip
            return
        difference = differs(stored, calibration)
        if difference:
            raise CalibrationError(
                f"--out {self.out}: holds a different calibration ({difference}); "
                "use another --out, or restore the calibration file to resume"
            )

    def check_history(self) -> None:
        """history.db must be a file SQLite reads, with pyabc's version table; else it is set aside.

        A folder where history.db is a folder is refused (nothing is moved).
        """
        if not self.history.exists() and not self.history.is_symlink():
            return
        if self.history.is_dir():
            raise CalibrationError(f"--out {self.out}: history.db is a folder, not pyabc's history; move it away "
                                   "(or use another --out)")  # fmt: skip
        problem = history_problem(self.history)
        if problem is not None:
            self.set_aside(self.history, problem, "sampling starts again from generation 1")

    def initialise(self, calibration: Calibration) -> None:
        """Write calibration.yaml (again on resume: the stopping rules may have been raised)."""
        self.out.mkdir(parents=True, exist_ok=True)
        header = f"# resolved calibration {calibration.name}; fingerprint {calibration.fingerprint()}\n"
        text = yaml.safe_dump(calibration.resolved_dict(), sort_keys=False, allow_unicode=True)
        atomic_write(self.spec, (header + text).encode("utf-8"))

    def load(self) -> Calibration:
        """The calibration this folder holds (for calibrate-report)."""
        if self.history.is_dir():
            raise CalibrationError(f"{self.out}: history.db is a folder, not pyabc's history")
        if not self.history.exists():
            raise CalibrationError(f"{self.out}: not a calibration folder (no calibration.yaml and history.db)")
        stored = self.stored(repair=False)
        if stored is None:
            raise CalibrationError(f"{self.out}: not a calibration folder (no calibration.yaml and history.db)")
        problem = history_problem(self.history)
        if problem is not None:
            raise CalibrationError(f"{self.history}: {problem}; run calibrate again with this --out to repair it")
        return calibration_from_dict(stored, str(self.spec))

    # -- sessions ----------------------------------------------------------------

    def sessions(self) -> list[dict[str, Any]]:
        sessions = self.read_metadata().get("sessions", [])
        return [s for s in sessions if isinstance(s, dict)] if isinstance(sessions, list) else []

    def _write_sessions(self, sessions: list[dict[str, Any]]) -> None:
        self.write_metadata({"sessions": sessions})

    def add_session(self, session: dict[str, Any]) -> None:
        """Append a session's record (at its start: ``finished_utc`` None until `finish_session`)."""
        self._write_sessions(self.sessions() + [session])

    def finish_session(self, session: dict[str, Any] | None) -> None:
        """Replace the last (this session's) record with its final one; None drops it."""
        sessions = self.sessions()[:-1]
        self._write_sessions(sessions + ([session] if session is not None else []))

    # -- the report --------------------------------------------------------------

    @contextmanager
    def reporting(self) -> Iterator[None]:
        """Hold ``.report.lock`` while a report is written: two reports on one folder take turns."""
        self.out.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.out / ".report.lock", os.O_CREAT | os.O_RDWR, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)  # the operating system drops it when the holder dies
            yield
        finally:
            os.close(fd)


def history_problem(db: Path) -> str | None:
    """Why SQLite or pyabc cannot use ``db`` as a history; None when it can (or holds nothing yet)."""
    try:
        connection = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        try:
            tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            if not tables:
                return "holds no table (a session was stopped while creating it)"
            version = connection.execute("SELECT count(*) FROM version").fetchone()[0] if "version" in tables else 0
        finally:
            connection.close()
    except sqlite3.Error as err:
        return f"unreadable ({reason(err)})"
    if not version:
        return "holds no pyabc version (a session was killed while creating it)"
    return None
