"""The day's outputs, recorded into preallocated numpy arrays.

A `DailyRecord` keeps one array per column, with a row per day (and a column
per firm for firm outputs). Columns are created on the first day they are
recorded, so a new output is one more entry in the dict a model hands over
each day. It replaces Mesa's DataCollector in the day's loop: recording a day
costs a few array writes instead of a Python call per value and agent.
A `DailyBlock` holds fixed columns computed together (the firms' outputs,
one compiled pass a day) as one array, so recording a day is one write.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


class DailyRecord:
    """Columns of per-day values, each of shape (days,) + ``width``."""

    def __init__(self, days: int, width: tuple[int, ...] = ()):
        self.width = width
        self.days = 0
        self._capacity = max(1, days)
        self._columns: dict[str, np.ndarray] = {}

    def add(self, values: dict[str, np.ndarray | float]) -> None:
        """Record one day: a value (or an array of ``width``) per column."""
        if self.days == self._capacity:  # stepped past the planned horizon
            self._capacity *= 2
            for name, column in self._columns.items():
                grown = np.zeros((self._capacity, *self.width), dtype=column.dtype)
                grown[: self.days] = column[: self.days]
                self._columns[name] = grown
        for name, value in values.items():
            column = self._columns.get(name)
            if column is None:
                dtype = np.asarray(value).dtype
                dtype = np.int64 if dtype.kind in "iub" else np.float64
                column = self._columns[name] = np.zeros((self._capacity, *self.width), dtype=dtype)
            column[self.days] = value
        self.days += 1

    def column(self, name: str) -> np.ndarray:
        """The recorded values of one column, one row per day (none before the first day)."""
        if name not in self._columns:
            return np.zeros((0, *self.width))
        return self._columns[name][: self.days]

    def frame(self, names: tuple[str, ...] | list[str]) -> pd.DataFrame:
        """Day-major table of the named columns, flattened over ``width`` (e.g. firms)."""
        return pd.DataFrame({name: self.column(name).reshape(-1) for name in names})


class DailyBlock:
    """Fixed columns of per-day values kept as one float64 array of shape (days, columns) + ``width``.

    For outputs computed together in one compiled pass (the firms' day): a
    day is one array write. Integer columns are stored exactly (below 2**53)
    and come back as int64.
    """

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
