"""The sweep folder: resolved sweep, design, run parts, metadata; resume and retry.

::

    OUT/sweep.yaml           the resolved sweep (loadable as a sweep file) and its fingerprint
    OUT/design.parquet       the design points as the sampler drew them
    OUT/runs/part-*.parquet  one row per finished run, written atomically in batches
    OUT/metadata.json        provenance of every session that ran on the folder
    OUT/analysis/, OUT/figures/, OUT/report.md   built by the analysis

A part is written to a hidden temporary file and renamed into place, so a
part is either complete or absent. Parts are numbered; when two hold a row
for the same run id (a retried failure), the later part wins. A lock file
keeps two sweeps from writing to one folder at once.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path
from typing import Any

import pandas as pd
import psutil
import pyarrow as pa
import pyarrow.parquet as pq
import yaml

from sim.sweep.design import Design, same_design
from sim.sweep.spec import Sweep, SweepError, first_difference, fingerprinted

_ARROW = {"int": pa.int64(), "float": pa.float64(), "string": pa.string()}


class SweepFolder:
    """Paths and storage of one sweep's results folder."""

    def __init__(self, out: str | Path):
        self.out = Path(out)
        self.sweep_yaml = self.out / "sweep.yaml"
        self.metadata_json = self.out / "metadata.json"
        self.design_parquet = self.out / "design.parquet"
        self.runs = self.out / "runs"
        self.analysis = self.out / "analysis"
        self.figures = self.out / "figures"
        self.report = self.out / "report.md"
        self.scratch = self.out / "dask-scratch"
        self._lock = self.out / ".sweep.lock"

    # -- the sweep it holds ------------------------------------------------------

    def stored_sweep(self) -> dict[str, Any] | None:
        if not self.sweep_yaml.exists():
            return None
        return yaml.safe_load(self.sweep_yaml.read_text(encoding="utf-8"))

    def check_compatible(self, sweep: Sweep, design: Design) -> None:
        """Refuse a folder that holds anything but this sweep's results."""
        stored = self.stored_sweep()
        if stored is None:
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
        if self.design_parquet.exists() and not same_design(self.read_design(), design.points):
            raise SweepError(
                f"--out {self.out}: the design drawn now differs from the stored one (another SALib or "
                "SciPy version?); use another --out"
            )

    def initialise(self, sweep: Sweep, design: Design) -> None:
        """Write sweep.yaml and design.parquet (once; a resumed sweep keeps them)."""
        self.runs.mkdir(parents=True, exist_ok=True)
        if not self.sweep_yaml.exists():
            header = f"# resolved sweep {sweep.name}; fingerprint {sweep.fingerprint()}\n"
            text = yaml.safe_dump(sweep.resolved_dict(), sort_keys=False, allow_unicode=True)
            atomic_write(self.sweep_yaml, (header + text).encode("utf-8"))
        if not self.design_parquet.exists():
            tmp = self.design_parquet.with_name(".design.parquet.tmp")
            design.points.reset_index().to_parquet(tmp, index=False)
            os.replace(tmp, self.design_parquet)

    def read_design(self) -> pd.DataFrame:
        """The stored design points, indexed by sample."""
        return pd.read_parquet(self.design_parquet).set_index("sample")

    # -- runs --------------------------------------------------------------------

    def parts(self) -> list[Path]:
        return sorted(self.runs.glob("part-*.parquet"), key=_part_number)

    def read_runs(self) -> pd.DataFrame:
        """Every stored run, one row per run id (the latest part wins); empty if none."""
        frames = [pd.read_parquet(path) for path in self.parts()]
        frames = [f for f in frames if len(f)]
        if not frames:
            return pd.DataFrame()
        runs = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
        runs = runs.drop_duplicates("run_id", keep="last")
        return runs.sort_values(["sample", "replication"], kind="stable").reset_index(drop=True)

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
                path.unlink()

    def clean_temporary(self) -> None:
        """Remove temporary parts an interrupted session left behind."""
        for path in self.runs.glob(".part-*.tmp"):
            path.unlink(missing_ok=True)

    # -- metadata ----------------------------------------------------------------

    def read_metadata(self) -> dict[str, Any]:
        if not self.metadata_json.exists():
            return {}
        return json.loads(self.metadata_json.read_text(encoding="utf-8"))

    def write_metadata(self, metadata: dict[str, Any]) -> None:
        atomic_write(self.metadata_json, (json.dumps(metadata, indent=2, default=str) + "\n").encode("utf-8"))

    # -- lock --------------------------------------------------------------------

    def lock(self) -> None:
        """Claim the folder for this process; a lock of a process that is gone is taken over."""
        self.out.mkdir(parents=True, exist_ok=True)
        me = {"pid": os.getpid(), "host": socket.gethostname()}
        for _ in range(2):
            try:
                fd = os.open(self._lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                try:
                    holder = json.loads(self._lock.read_text())
                except (OSError, ValueError):
                    holder = {}
                alive = holder.get("host") != me["host"] or psutil.pid_exists(int(holder.get("pid", -1)))
                if alive and holder:
                    raise SweepError(
                        f"--out {self.out}: another sweep is running on it (pid {holder.get('pid')} on "
                        f"{holder.get('host')}); if none is, delete {self._lock}"
                    ) from None
                self._lock.unlink(missing_ok=True)
                continue
            with os.fdopen(fd, "w") as handle:
                json.dump(me, handle)
            return
        raise SweepError(f"--out {self.out}: cannot take the lock {self._lock}")

    def unlock(self) -> None:
        self._lock.unlink(missing_ok=True)


def atomic_write(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


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
