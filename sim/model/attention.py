"""The attention budget: which of a day's firm items a user actually sees.

Background items (posts of the ~109 other pages a user follows) are not
simulated one by one. Each has weight 1, so its sort key is uniform; the
user's threshold ``tau`` is the attention-th largest of ``bg`` uniforms, whose
distribution is Beta(bg - attention + 1, attention) (an order statistic).
A firm item with weight w gets key U**(1/w) and is seen when its key beats
``tau``; if more pass than the budget allows, the largest keys are kept.
These are pure functions of arrays and an explicit generator.
"""

from __future__ import annotations

import numpy as np


def sample_threshold(bg: np.ndarray, attention: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The attention-th largest of ``bg`` uniforms, 0 when bg <= attention."""
    bg = np.asarray(bg, dtype=np.int64)
    attention = np.asarray(attention, dtype=np.int64)
    tau = np.zeros(bg.shape, dtype=np.float64)
    crowded = bg > attention
    if crowded.any():
        a = (bg[crowded] - attention[crowded] + 1).astype(np.float64)
        b = attention[crowded].astype(np.float64)
        tau[crowded] = rng.beta(a, b)
    return tau


def log_keys(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """log of the sort key U**(1/w), computed in logs so tiny keys stay ordered."""
    u = 1.0 - rng.random(weights.shape[0])  # in (0, 1], so log is finite
    return np.log(u) / weights


def select_seen(
    user: np.ndarray,
    log_key: np.ndarray,
    log_tau: np.ndarray,
    attention: np.ndarray,
) -> np.ndarray:
    """Boolean mask of the candidates each user sees.

    ``user``: the user of each candidate; ``log_key``: its log key;
    ``log_tau``: log threshold per user (-inf where tau is 0); ``attention``:
    budget per user. A candidate passes when its key beats the user's
    threshold; of the passing ones, at most ``attention[user]`` with the
    largest keys are kept.
    """
    passed = log_key > log_tau[user]
    idx = np.flatnonzero(passed)
    if idx.size == 0:
        return passed
    # sort passing candidates by user, then by key (largest first)
    order = idx[np.lexsort((-log_key[idx], user[idx]))]
    sorted_users = user[order]
    group_start = np.r_[0, np.flatnonzero(sorted_users[1:] != sorted_users[:-1]) + 1]
    group_len = np.diff(np.r_[group_start, sorted_users.size])
    rank = np.arange(sorted_users.size) - np.repeat(group_start, group_len)
    seen = np.zeros_like(passed)
    seen[order[rank < attention[sorted_users]]] = True
    return seen
