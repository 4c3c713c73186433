"""The attention budget: which of a day's firm items a user actually sees.

Background items (posts of the ~109 other pages a user follows) are not
simulated one by one. Each has weight 1, so its sort key is uniform; the
user's threshold ``tau`` is the attention-th largest of ``bg`` uniforms, whose
distribution is Beta(bg - attention + 1, attention) (an order statistic).
A firm item with weight w gets key U**(1/w) and is seen when its key beats
``tau``; if more pass than the budget allows, the largest keys are kept.
These are pure functions of arrays and an explicit generator; the selection
is compiled (numba), since it runs over every candidate of every day.
"""

from __future__ import annotations

import numpy as np
from numba import njit


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


@njit(cache=True)
def select_seen(user, log_key, log_tau, attention):
    """Boolean mask of the candidates each user sees.

    ``user``: the user of each candidate; ``log_key``: its log key;
    ``log_tau``: log threshold per user (-inf where tau is 0); ``attention``:
    budget per user. A candidate passes when its key beats the user's
    threshold; of the passing ones, at most ``attention[user]`` with the
    largest keys are kept. One pass counts the passing candidates per user;
    only the users over budget are sorted.
    """
    n = user.shape[0]
    n_users = attention.shape[0]
    seen = np.zeros(n, np.bool_)
    count = np.zeros(n_users, np.int64)
    for c in range(n):
        if log_key[c] > log_tau[user[c]]:
            seen[c] = True
            count[user[c]] += 1
    start = np.full(n_users, -1, np.int64)  # where an over-budget user's candidates go
    total = 0
    for c in range(n):
        u = user[c]
        if seen[c] and count[u] > attention[u] and start[u] < 0:
            start[u] = total
            total += count[u]
    if total == 0:
        return seen
    fill = np.zeros(n_users, np.int64)
    members = np.empty(total, np.int64)
    for c in range(n):
        u = user[c]
        if seen[c] and start[u] >= 0:
            members[start[u] + fill[u]] = c
            fill[u] += 1
    for u in range(n_users):
        if start[u] < 0:
            continue
        group = members[start[u] : start[u] + count[u]]
        order = np.argsort(-log_key[group], kind="mergesort")  # largest keys first
        for j in range(attention[u], group.shape[0]):
            seen[group[order[j]]] = False
    return seen
