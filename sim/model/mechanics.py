"""The spec's formulas, one small compiled function per mechanism.

Each formula is a numba ``@njit`` function written with numpy ufuncs, so the
same function works on scalars (called per item inside the day's kernels in
`sim.model.kernels`) and on arrays (called from Python, as the tests do).
Keyword arguments work from Python; numba does not allow keyword-only ones.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# item kinds and delivery channels (codes used throughout the model)
PROMO, VALUE, AD, REPLY = 0, 1, 2, 3
KIND_NAMES = ("promo", "value", "ad", "reply")
POST, PAID, SHARE, REPLY_CHANNEL = 0, 1, 2, 3
CHANNEL_NAMES = ("organic", "paid", "earned", "reply")


def initial_attention(n: int, mean: float, sigma: float, rng: np.random.Generator) -> np.ndarray:
    """Items read per day: round(LogNormal) with arithmetic mean ``mean``, at least 1."""
    mu = np.log(mean) - sigma**2 / 2.0
    return np.maximum(1, np.rint(rng.lognormal(mu, sigma, size=n))).astype(np.int32)


def torus_distance(a: np.ndarray, b: int, size: int) -> np.ndarray:
    """Shortest distance between coordinates a and b on a ring of ``size``."""
    d = np.abs(np.asarray(a) - b) % size
    return np.minimum(d, size - d)


@njit(cache=True)
def candidate_weight(type_weight, trust, social_proof):
    """Ranking weight w = type_weight * (1 + trust) * (1 + ln(1 + s))."""
    return type_weight * (1.0 + trust) * (1.0 + np.log1p(social_proof))


@njit(cache=True)
def reaction_probabilities(appeal, annoyance, trust, fatigue, annoy_base=0.0):
    """p_pos = min(1, appeal (0.5 + trust)(1 - fatigue)); p_neg = min(1 - p_pos, annoyance (annoy_base + fatigue)).

    ``annoy_base`` (MARKET_SPEC.md, baseline annoyance) is 0 by default,
    and 0.0 + fatigue is fatigue exactly, so part 1 is unchanged bit for bit.
    """
    p_pos = np.minimum(1.0, appeal * (0.5 + trust) * (1.0 - fatigue))
    p_neg = np.minimum(1.0 - p_pos, annoyance * (annoy_base + fatigue))
    return p_pos, p_neg


@njit(cache=True)
def react(p_pos, p_neg, u):
    """One uniform per item decides positive, negative or none."""
    positive = u < p_pos
    negative = (u >= p_pos) & (u < p_pos + p_neg)
    return positive, negative


@njit(cache=True)
def updated_fatigue(fatigue, load, n_relief, fatigue_decay, fatigue_gain, tolerance, reply_relief):
    """Decay, gain from load above tolerance, relief per seen reply to a critic; in [0, 1]."""
    grown = fatigue * (1.0 - fatigue_decay) + fatigue_gain * np.maximum(0.0, load - tolerance)
    return np.minimum(1.0, np.maximum(0.0, grown - reply_relief * n_relief))


@njit(cache=True)
def updated_trust(trust, n_pos, n_reply, n_neg, n_deleted, trust_pos, trust_reply, trust_neg, trust_deleted):
    """Apply each day's events in the spec's order; n events compound.

    +trust_pos (1 - t) per positive reaction, +trust_reply (1 - t) per seen
    reply, -trust_neg t per negative reaction, -trust_deleted t per deleted
    comment. The drift towards trust0 is applied separately, to everyone.
    """
    t = 1.0 - (1.0 - trust) * (1.0 - trust_pos) ** n_pos
    t = 1.0 - (1.0 - t) * (1.0 - trust_reply) ** n_reply
    t = t * (1.0 - trust_neg) ** n_neg
    return t * (1.0 - trust_deleted) ** n_deleted


@njit(cache=True)
def drifted_trust(trust, trust0, trust_drift):
    """Drift of trust_drift * (trust0 - trust)."""
    return trust + trust_drift * (trust0 - trust)


@njit(cache=True)
def follow_probability(trust, follow_prob):
    """Chance that a non-follower who liked something follows: min(1, follow_prob (0.5 + trust))."""
    return np.minimum(1.0, follow_prob * (0.5 + trust))


@njit(cache=True)
def unfollow_probability(n_neg, n_deleted, unfollow_neg_prob, unfollow_deleted_prob):
    """Chance that at least one of the independent per-event unfollow draws succeeds."""
    stay = (1.0 - unfollow_neg_prob) ** n_neg * (1.0 - unfollow_deleted_prob) ** n_deleted
    return 1.0 - stay
