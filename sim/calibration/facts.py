"""The facts a calibration matches: bands from the validation facts table, and their distance.

A `Band` is one fact's empirical range and the scale its misses are
measured on (the facts table's ``scale``). The distance of a simulated value
from its band is zero inside the band and, outside it, a relative miss, so
that one unit means "off by the same relative amount" for every fact:

- ``log`` scale (positive rates and ratios whose values span orders of
  magnitude): the natural log of the factor by which the value misses the
  nearer edge, ``ln(low / x)`` below, ``ln(x / high)`` above. A miss below
  is capped at ``ln(LOG_FLOOR)`` (a factor of 1,000), and a value ``x <= 0``
  below the band counts as that cap: finite, and never less than a positive
  value's miss. A low edge of 0 means no lower edge.
- ``linear`` scale (exponents, elasticities, shares of order one): the miss
  beyond the nearer edge over the band's size, the larger of ``|low|`` and
  ``|high|`` (1 for a band at 0): ``max(low - x, x - high, 0) / size``.

Near the band the two agree to first order (``ln(1 + r) ~ r``): a value 10%
above the band scores about 0.1 on either scale. The band's width is never
the unit: it would give a precisely published figure (engagement, width
0.0011) hundreds of times the pull of a loosely published one. A run whose
quantity cannot be computed (NaN: say, no post was made) is put
``MISSING_PENALTY`` away, so it is never accepted once epsilon is below
that, but ranks behind any computable run. `total_distance` is the
unweighted sum over facts. docs/calibration.md ("The distance") gives each
fact's scale and why. The facts themselves (ids, ranges, scales, sources and
the named model quantities) live in `sim.validation`; this module only reads
them.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

MISSING_PENALTY = 100.0
LOG_FLOOR = 1000.0  # a log fact's miss below its band is capped at this factor; a value <= 0 counts as the cap
SCALES = ("linear", "log")


class FactsError(ValueError):
    """A bad facts choice (unknown id, unreadable file), reported as one line."""


@dataclass(frozen=True)
class Band:
    """One fact: its id, empirical range and scale, with what it measures and its source for reports."""

    id: str
    low: float
    high: float
    what: str = ""
    source: str = ""
    quantity: str = ""
    scale: str = "linear"

    def __post_init__(self) -> None:
        if self.scale not in SCALES:
            raise FactsError(f"scale: {self.scale!r} is not a scale; choose one of {', '.join(SCALES)}")
        if self.scale == "log" and not (self.low >= 0 and self.high > 0):
            raise FactsError(f"scale: log needs 0 <= low and 0 < high (got [{self.low:g}, {self.high:g}])")

    @property
    def size(self) -> float:
        """The linear scale's unit: the band's larger edge in absolute value (1 for a band at 0)."""
        return max(abs(self.low), abs(self.high)) or 1.0

    def distance(self, value: float) -> float:
        """0 inside the band, else the relative miss beyond the nearer edge (see the module's docstring)."""
        if value is None or not math.isfinite(value):
            return MISSING_PENALTY
        if self.low <= value <= self.high:
            return 0.0
        if self.scale == "linear":
            return max(self.low - value, value - self.high) / self.size
        if value > self.high:
            return math.log(value / self.high)
        return math.log(LOG_FLOOR) if value <= 0 else min(math.log(self.low / value), math.log(LOG_FLOOR))

    def verdict(self, value: float) -> str:
        if value is None or not math.isfinite(value):
            return "missing"
        return "below" if value < self.low else "above" if value > self.high else "inside"

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Band:
        """A band as stored; one stored before scales existed has none and is linear."""
        keys = ("id", "low", "high", "what", "source", "quantity", "scale")
        return cls(**{k: data[k] for k in keys if k in data})


def total_distance(bands: list[Band], values: dict[str, float]) -> float:
    """The calibration's distance: the unweighted sum of every fact's relative miss outside its band."""
    return float(sum(band.distance(values.get(band.id, math.nan)) for band in bands))
