"""The user population as arrays: drawn once at set-up, then changed only in bulk.

Per-user state is a numpy array over grid cells (index ``x * height + y``);
per user-firm state is an (N, F) array. No Python object per user exists.
Counts are int32; trust and fatigue stay float64: they are accumulators
updated every day by small multiplicative steps (and tests compare them
with float64 bounds), so float32 rounding would build up over a run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.model.mechanics import initial_attention, torus_distance


@dataclass
class Population:
    """Every user's attention, background pages and relation to each firm."""

    attention: np.ndarray  # (N,) items read per day
    pages: np.ndarray  # (N,) background pages followed
    follows: np.ndarray  # (N, F) bool
    trust: np.ndarray  # (N, F) in [0, 1]
    fatigue: np.ndarray  # (N, F) in [0, 1]
    ads_hidden: np.ndarray  # (N, F) bool
    days_reached: np.ndarray  # (N, F) days on which the user saw anything of the firm

    @property
    def size(self) -> int:
        return self.attention.shape[0]

    def flat(self, name: str) -> np.ndarray:
        """A writable flat view of an (N, F) array, indexed by user * F + firm."""
        return getattr(self, name).reshape(-1)


def near_home(width: int, height: int, home: tuple[int, int], radius: int) -> np.ndarray:
    """Users within Chebyshev distance ``radius`` of ``home`` on the torus."""
    x, y = np.divmod(np.arange(width * height), height)
    return (torus_distance(x, home[0], width) <= radius) & (torus_distance(y, home[1], height) <= radius)


def draw_population(p, homes: list[tuple[int, int]], rng: np.random.Generator) -> Population:
    """Draw users' attention, pages, initial follows and trust from parameters ``p``."""
    n = p.width * p.height
    n_firms = len(homes)
    attention = initial_attention(n, p.attention_mean, p.attention_sigma, rng)
    pages = rng.poisson(p.pages_followed, size=n).astype(np.int32)
    follows = np.zeros((n, n_firms), dtype=bool)
    for f, home in enumerate(homes):
        prob = np.where(
            near_home(p.width, p.height, home, p.home_radius), p.home_follow_prob, p.initial_follow_prob
        )
        follows[:, f] = rng.random(n) < prob
    trust = np.minimum(1.0, p.trust0 + p.follower_trust_bonus * follows)
    return Population(
        attention=attention,
        pages=pages,
        follows=follows,
        trust=trust,
        fatigue=np.zeros((n, n_firms)),
        ads_hidden=np.zeros((n, n_firms), dtype=bool),
        days_reached=np.zeros((n, n_firms), dtype=np.int32),
    )
