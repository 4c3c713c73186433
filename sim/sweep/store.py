"""The sweep folder: resolved sweep, design, run parts, metadata; resume and retry.

::

    OUT/sweep.yaml           the resolved sweep (loadable as a sweep file) and its fingerprint
    OUT/design.parquet       the design points as the sampler drew them
    OUT/runs/part-*.parquet  one row per finished run, written atomically as runs finish
    OUT/metadata.json        provenance of every session that ran on the folder
    OUT/analysis/, OUT/figures/, OUT/report.md   built by the analysis

A part is written to a hidden temporary file and renamed into place, so a
part is either complete or absent. Parts are numbered; when two hold a row
for the same run id (a retried failure), the later part wins. A lock file
keeps two sweeps from writing to one folder at once.

A damaged file (truncated, garbled, zero bytes, another schema; a disk
fault or a hand edit) never stops the folder: it is named in one warning
line, renamed to ``*.bad`` and what it held is recomputed: the runs of a bad
part run again on resume, a bad design is drawn again from the sweep, a bad
sweep.yaml is rewritten from the sweep file when its fingerprint matches,
and a bad metadata.json starts afresh (with a note that earlier sessions'
records were set aside).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.jobs.errors import reason
from sim.jobs.folder import JobFolder, atomic_write
from sim.jobs.spec import first_difference
from sim.sweep.design import Design, same_design
from sim.sweep.spec import Sweep, SweepError, fingerprinted

__all__ = ["SweepFolder", "atomic_write"]

_ARROW = {"int": pa.int64(), "float": pa.float64(), "string": pa.string()}
REQUIRED_RUN_COLUMNS = ("run_id", "sample", "replication", "status")
_SWEEP_KEYS = ("name", "method", "parameters", "outputs", "replications", "seed")


class SweepFolder(JobFolder):
    """Paths and storage of one sweep's results folder (a study's too: studies run as sweeps)."""

    kind = "sweep"
    lock_name = ".sweep.lock"
    error = SweepError
    subfolders = ("runs", "analysis", "figures")

    def __init__(self, out: str | Path, kind: str = "sweep"):
        super().__init__(out)
        self.kind = kind
        self.sweep_yaml = self.out / "sweep.yaml"
        self.design_parquet = self.out / "design.parquet"
        self.runs = self.out / "runs"
        self.analysis = self.out / "analysis"
        self.figures = self.out / "figures"
        self.report = self.out / "report.md"
        self.bad_sweep_yaml = False

    # -- the sweep it holds ------------------------------------------------------

    def stored_sweep(self) -> dict[str, Any] | None:
        """The resolved sweep stored in sweep.yaml; None if absent, or damaged (then set aside)."""
        if not self.sweep_yaml.exists():
            return None
        from sim.scenario.io import load_yaml_file

        try:
            stored = load_yaml_file(self.sweep_yaml, SweepError)
            missing = [k for k in _SWEEP_KEYS if not isinstance(stored, dict) or k not in stored]
            if missing:
                raise SweepError(f"not a resolved sweep (no {', '.join(missing)})")
            return stored
        except SweepError as err:
            problem = str(err).removeprefix(f"{self.sweep_yaml}: ")
            self.bad_sweep_yaml = True
            self.set_aside(self.sweep_yaml, f"unreadable ({problem})",
                           "it is rewritten from the sweep file when the sweep runs again with this --out")  # fmt: skip
            return None

    def check_compatible(self, sweep: Sweep, design: Design) -> None:
        """Refuse a folder that holds anything but this sweep's results."""
        stored = self.stored_sweep()
        if stored is None:
            if self.bad_sweep_yaml or any(self.out.glob("sweep.yaml.bad*")):  # damaged now or in an earlier session
                self._check_without_sweep_yaml(sweep, design)
                return
            leftovers = {self.scratch.name, self._lock.name}  # of a session that stopped before starting
            if self.out.exists() and (not self.out.is_dir() or any(p.name not in leftovers for p in self.out.iterdir())):
                raise SweepError(f"--out {self.out}: exists and is not a sweep folder (no sweep.yaml); use another --out")
            return
        difference = first_difference(fingerprinted(stored), fingerprinted(sweep.resolved_dict()))
        if difference:
            raise SweepError(
                f"--out {self.out}: holds the runs of a different sweep ({difference}); "
                "use another --out, or restore the sweep file to resume"
            )
        stored_design = self.read_design(redraw=design)
        if stored_design is not None and not same_design(stored_design, design.points):
            raise SweepError(
                f"--out {self.out}: the design drawn now differs from the stored one (another SALib or "
                "SciPy version?); use another --out"
            )

    def _check_without_sweep_yaml(self, sweep: Sweep, design: Design) -> None:
        """sweep.yaml was damaged: accept the folder if metadata's fingerprint or the stored design matches."""
        recorded = self.read_metadata().get("fingerprint")
        if recorded is not None:
            if recorded != sweep.fingerprint():
                raise SweepError(f"--out {self.out}: its metadata.json records another sweep (fingerprint "
                                 f"{recorded}, this one {sweep.fingerprint()}); use another --out")  # fmt: skip
            return
        stored_design = self.read_design(redraw=design)
        if stored_design is not None and not same_design(stored_design, design.points):
            raise SweepError(f"--out {self.out}: sweep.yaml was damaged and the stored design differs from this "
                             "sweep's; use another --out")  # fmt: skip

    def initialise(self, sweep: Sweep, design: Design) -> None:
        """Write sweep.yaml and design.parquet (once; a resumed sweep keeps them)."""
        self.runs.mkdir(parents=True, exist_ok=True)
        if not self.sweep_yaml.exists():
            header = f"# resolved sweep {sweep.name}; fingerprint {sweep.fingerprint()}\n"
            text = yaml.safe_dump(sweep.resolved_dict(), sort_keys=False, allow_unicode=True)
            atomic_write(self.sweep_yaml, (header + text).encode("utf-8"))
        if not self.design_parquet.exists():
            self._write_design(design)

    def read_design(self, redraw: Design | None = None) -> pd.DataFrame | None:
        """The stored design points, indexed by sample.

        A damaged design.parquet is set aside and written again: from
        ``redraw`` when given (the sweep command has just drawn it), else
        drawn again from sweep.yaml. None when it is absent and ``redraw``
        is given (it is written by `initialise`).
        """
        if self.design_parquet.exists():
            try:
                design = pd.read_parquet(self.design_parquet)
                if "sample" not in design.columns or design.empty:
                    raise ValueError(f"no design points (columns {list(design.columns)})")
                return design.set_index("sample")
            except Exception as err:  # noqa: BLE001 - any unreadable file is set aside, whatever pyarrow raised
                self.set_aside(self.design_parquet, f"unreadable ({reason(err)})", "the design is drawn again")
        if redraw is not None:
            return None
        self._write_design(self._redrawn_design())
        return pd.read_parquet(self.design_parquet).set_index("sample")

    def _redrawn_design(self) -> Design:
        from sim.sweep.design import build_design
        from sim.sweep.spec import sweep_from_dict

        stored = self.stored_sweep()
        if stored is None:
            raise SweepError(f"{self.out}: no readable sweep.yaml to draw the design from; run the sweep "
                             "command again with its sweep file and this --out")  # fmt: skip
        sweep, _ = sweep_from_dict(stored, str(self.sweep_yaml))
        return build_design(sweep)

    def _write_design(self, design: Design) -> None:
        tmp = self.design_parquet.with_name(".design.parquet.tmp")
        design.points.reset_index().to_parquet(tmp, index=False)
        os.replace(tmp, self.design_parquet)

    # -- runs --------------------------------------------------------------------

    def parts(self) -> list[Path]:
        return sorted(self.runs.glob("part-*.parquet"), key=_part_number)

    def read_runs(self) -> pd.DataFrame:
        """Every stored run, one row per run id (the latest part wins); empty if none.

        A part that cannot be read or lacks the run columns is set aside; its
        runs count as not run, so the next session runs them again.
        """
        frames = [f for f in (self._read_part(path) for path in self.parts()) if f is not None and len(f)]
        if not frames:
            return pd.DataFrame()
        runs = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        runs = runs.drop_duplicates("run_id", keep="last")
        return runs.sort_values(["sample", "replication"], kind="stable").reset_index(drop=True)

    def _read_part(self, path: Path) -> pd.DataFrame | None:
        try:
            frame = pq.read_table(path).to_pandas()
        except FileNotFoundError:
            return None  # merged into a newer part by a running sweep meanwhile
        except Exception as err:  # noqa: BLE001 - truncated, garbled, zero bytes: whatever pyarrow raised
            self.set_aside(path, f"unreadable ({reason(err)})", "its runs will run again on resume")
            return None
        missing = [c for c in REQUIRED_RUN_COLUMNS if c not in frame.columns]
        if missing:
            self.set_aside(path, f"not a part of run rows (no {', '.join(missing)} column)",
                           "its runs will run again on resume")  # fmt: skip
            return None
        return frame

    def write_part(self, rows: list[dict[str, Any]], kinds: dict[str, str]) -> Path:
        """Write rows as the next numbered part, atomically."""
        parts = self.parts()
        number = _part_number(parts[-1]) + 1 if parts else 0
        final = self.runs / f"part-{number:05d}.parquet"
        tmp = self.runs / f".part-{number:05d}.parquet.tmp"
        schema = pa.schema([(name, _ARROW[kind]) for name, kind in kinds.items()])
        table = pa.Table.from_pylist([{name: _cell(row.get(name), kinds[name]) for name in kinds} for row in rows], schema=schema)
        pq.write_table(table, tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, final)
        return final

    def compact(self, kinds: dict[str, str]) -> None:
        """Merge all parts into one (later parts win), then drop the old ones."""
        parts = self.parts()
        if len(parts) < 2:
            return
        runs = self.read_runs()
        merged = self.write_part(runs.to_dict("records"), kinds)
        for path in parts:
            if path != merged:
                path.unlink(missing_ok=True)

    def clean_temporary(self) -> None:
        """Remove temporary parts an interrupted session left behind."""
        for path in self.runs.glob(".part-*.tmp"):
            path.unlink(missing_ok=True)


def _part_number(path: Path) -> int:
    return int(path.stem.split("-")[1])


def _cell(value: Any, kind: str) -> Any:
    """A value as its column's type; missing values (None, NaN in a string column) stay null."""
    if value is None:
        return None
    if kind == "string":
        return None if isinstance(value, float) and value != value else str(value)
    if kind == "int":
        return int(value)
    return float(value)
