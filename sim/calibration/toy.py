"""A toy simulator with an analytic ABC posterior, to check the engine on a known answer.

The simulator returns the mean of ``n`` draws from a normal with unknown
mean ``mu`` and known standard deviation ``sigma``: ``xbar ~ N(mu, s^2)``
with ``s = sigma / sqrt(n)``. With a uniform prior much wider than the
band and the band ``[c - d, c + d]`` as the fact, the exact ABC posterior at
epsilon 0 (the simulated mean falls inside the band) has density
proportional to ``Phi((c + d - mu)/s) - Phi((c - d - mu)/s)``: the
convolution of the normal N(c, s^2) with the uniform on [-d, d]. Its mean
is ``c`` and its variance ``s^2 + d^2 / 3``.
"""

from __future__ import annotations

import numpy as np
from scipy import stats
from scipy.interpolate import interp1d

from sim.calibration.facts import Band
from sim.calibration.spec import Prior
from sim.jobs.models import ParameterInfo


class NormalMean:
    """simulate({'mu': value}, seed) -> {'xbar': mean of n normal draws}."""

    def __init__(self, sigma: float = 1.0, n: int = 4):
        self.sigma, self.n = sigma, n

    @property
    def s(self) -> float:
        return self.sigma / np.sqrt(self.n)

    def __call__(self, params: dict, seed: int) -> dict:
        rng = np.random.default_rng(seed)
        return {"xbar": float(rng.normal(params["mu"], self.sigma, self.n).mean())}

    def prior(self, low: float = -5.0, high: float = 5.0) -> Prior:
        return Prior("mu", ParameterInfo("float"), low, high)

    @staticmethod
    def band(center: float = 1.0, half_width: float = 0.25) -> Band:
        return Band("xbar", center - half_width, center + half_width, "toy: mean of normal draws")

    def posterior(self, band: Band) -> tuple[float, float, tuple[float, float]]:
        """Exact mean, sd and 90% central interval of the ABC posterior at epsilon 0."""
        c, d, s = (band.low + band.high) / 2, (band.high - band.low) / 2, self.s
        grid = np.linspace(c - d - 8 * s, c + d + 8 * s, 20001)
        density = stats.norm.cdf((c + d - grid) / s) - stats.norm.cdf((c - d - grid) / s)
        cdf = np.cumsum(density)
        cdf /= cdf[-1]
        quantile = interp1d(cdf, grid)
        return c, float(np.sqrt(s**2 + d**2 / 3)), (float(quantile(0.05)), float(quantile(0.95)))


def model_probabilities(priors: list[Prior], band: Band, s: float) -> list[float]:
    """Exact ABC posterior probabilities at epsilon 0 of toy structures that differ only in their uniform prior
    on ``mu`` (uniform prior over the structures).

    P(band | structure k) = (1 / width_k) * integral of P(xbar in band | mu) over the prior's range, and that
    integral is the band's width 2d when the range covers the band with 8 s to spare on each side; so the
    probabilities are proportional to 1 / width_k.
    """
    for p in priors:
        if not (p.low <= band.low - 8 * s and band.high + 8 * s <= p.high):
            raise ValueError(f"prior [{p.low}, {p.high}] must cover the band with 8 s to spare")
    inverse = np.array([1.0 / (p.high - p.low) for p in priors])
    return list(inverse / inverse.sum())
