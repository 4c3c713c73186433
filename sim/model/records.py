"""The day's outputs, recorded into one preallocated numpy array per table.

A `DailyRecord` keeps fixed columns as one float64 array of shape (days,
columns) + ``width`` (a column per firm for firm outputs), so recording a day
is one array write: the firms' outputs come as one block from a compiled pass
(`kernels.firm_day`), the platform's as one row. It replaces Mesa's
DataCollector in the day's loop, which costs a Python call per value and
agent. Integer columns are stored exactly (below 2**53) and come back as int64.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class DailyRecord:
    """Columns of per-day values, each of shape (days,) + ``width``; ``integer`` names the whole-number ones."""

    def __init__(self, days: int, columns: tuple[str, ...], integer: tuple[str, ...], width: tuple[int, ...] = ()):
        self.columns = tuple(columns)
        self.width = width
        self.days = 0
        self._index = {name: i for i, name in enumerate(self.columns)}
        self._integer = frozenset(integer)
        self._data = np.zeros((max(1, days), len(self.columns), *width))

    def add(self, block: np.ndarray) -> None:
        """Record one day: ``block`` has one row per column, in ``columns`` order."""
        if self.days == self._data.shape[0]:  # stepped past the planned horizon
            grown = np.zeros((2 * self.days, *self._data.shape[1:]))
            grown[: self.days] = self._data
            self._data = grown
        self._data[self.days] = block
        self.days += 1

    def column(self, name: str) -> np.ndarray:
        """The recorded values of one column, one row per day."""
        values = self._data[: self.days, self._index[name]]
        return values.astype(np.int64) if name in self._integer else values.copy()

    def frame(self, names: tuple[str, ...] | list[str]) -> pd.DataFrame:
        """Day-major table of the named columns, flattened over ``width`` (e.g. firms)."""
        return pd.DataFrame({name: self.column(name).reshape(-1) for name in names})
