"""A calibration's posterior: the weighted sample a study's region can be.

A calibration writes ``OUT/posterior.parquet`` with one column per
parameter (dotted keys as in ``--set``), ``weight`` and ``distance``. A
study draws design points from it by weight: its Latin hypercube gives one
uniform coordinate per point, and the weighted inverse CDF maps it to a
row, so rows are drawn in proportion to their weights, reproducibly from
the study's seed.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

RESERVED = ("weight", "distance", "generation")  # bookkeeping columns a calibration writes


class PosteriorError(ValueError):
    """A posterior that cannot be used; the message is one line without the source."""


@dataclass(frozen=True)
class Posterior:
    """The posterior's parameter rows, their normalised cumulative weights and the file's hash."""

    path: str
    keys: tuple[str, ...]
    rows: tuple[dict, ...]
    cdf: tuple[float, ...]
    sha256: str

    def row(self, u: float) -> dict:
        """The row a uniform coordinate u in [0, 1] selects (weighted inverse CDF)."""
        index = int(np.searchsorted(np.asarray(self.cdf), float(u), side="right"))
        return dict(self.rows[min(index, len(self.rows) - 1)])


def posterior_file(location: str | Path) -> Path:
    """The parquet file of a calibration folder (or the file itself)."""
    path = Path(location)
    return path / "posterior.parquet" if path.is_dir() or path.suffix != ".parquet" else path


def read_posterior(location: str | Path) -> Posterior:
    """Read and check a posterior: parameter columns, finite non-negative weights with a positive sum."""
    path = posterior_file(location)
    if not path.is_file():
        raise PosteriorError(f"{path}: not found (a calibration's OUT folder holds posterior.parquet)")
    try:
        table = pd.read_parquet(path)
    except Exception as err:  # noqa: BLE001 - any unreadable file is one line
        raise PosteriorError(f"{path}: cannot read parquet ({type(err).__name__})") from None
    if "weight" not in table.columns:
        raise PosteriorError(f"{path}: no 'weight' column; columns are {', '.join(map(str, table.columns))}")
    keys = tuple(str(c) for c in table.columns if c not in RESERVED)
    if not keys:
        raise PosteriorError(f"{path}: no parameter columns besides {', '.join(RESERVED)}")
    if len(table) == 0:
        raise PosteriorError(f"{path}: no rows")
    weight = pd.to_numeric(table["weight"], errors="coerce").to_numpy(dtype=float)
    if not np.all(np.isfinite(weight)) or np.any(weight < 0) or weight.sum() <= 0:
        raise PosteriorError(f"{path}: weight: must be finite, >= 0 and sum to more than 0")
    cdf = np.cumsum(weight) / weight.sum()
    rows = tuple({k: _plain(v) for k, v in zip(keys, values)} for values in table[list(keys)].itertuples(index=False))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return Posterior(str(path.resolve()), keys, rows, tuple(float(c) for c in cdf), digest)


def _plain(value):
    return value.item() if isinstance(value, np.generic) else value
