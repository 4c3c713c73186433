"""The facts a calibration matches: bands from the validation facts table, and their distance.

A `Band` is one fact's empirical range. The distance of a simulated value
from its band is zero inside the band and, outside it, how far it lies
beyond the nearer edge in units of the band's width:
``max(low - x, x - high, 0) / (high - low)``. A run whose quantity cannot be
computed (NaN: say, no post was made) is put ``MISSING_PENALTY`` band widths
away, so it is never accepted once epsilon is below that, but still ranks
behind any computable run. The facts themselves (ids, ranges, sources and
the named model quantities) live in `sim.validation`; this module only reads
them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

MISSING_PENALTY = 100.0


class FactsError(ValueError):
    """A bad facts choice (unknown id, unreadable file), reported as one line."""


@dataclass(frozen=True)
class Band:
    """One fact: its id and empirical range, with what it measures and its source for reports."""

    id: str
    low: float
    high: float
    what: str = ""
    source: str = ""
    quantity: str = ""

    @property
    def width(self) -> float:
        """The band's width, the distance's unit; a point fact takes its own size (or 1) instead."""
        width = self.high - self.low
        return width if width > 0 else (abs(self.low) or 1.0)

    def distance(self, value: float) -> float:
        """0 inside the band, else the distance to the nearer edge in band widths."""
        if value is None or not math.isfinite(value):
            return MISSING_PENALTY
        return max(self.low - value, value - self.high, 0.0) / self.width

    def verdict(self, value: float) -> str:
        if value is None or not math.isfinite(value):
            return "missing"
        return "below" if value < self.low else "above" if value > self.high else "inside"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Band:
        return cls(**{k: data[k] for k in ("id", "low", "high", "what", "source", "quantity") if k in data})


def total_distance(bands: list[Band], values: dict[str, float]) -> float:
    """The calibration's distance: the sum of every fact's distance outside its band."""
    return float(sum(band.distance(values.get(band.id, math.nan)) for band in bands))
