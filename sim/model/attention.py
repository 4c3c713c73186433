"""The attention budget: which of a day's firm items a user actually sees.

Background items (posts of the ~109 other pages a user follows) are not
simulated one by one. Each has weight 1, so its sort key is uniform; the
user's threshold ``tau`` is the attention-th largest of ``bg`` uniforms, whose
distribution is Beta(bg - attention + 1, attention) (an order statistic).
A firm item with weight w gets key U**(1/w) and is seen when its key beats
``tau``; if more pass than the budget allows, the largest keys are kept.
The background count itself is Poisson(pages * page_post_rate) per user and
day; `PoissonTable` draws it by inverse transform from tables built once per
model (``pages`` is an integer, so a world has few distinct rates), one
uniform per user: 2.6 to 5 times faster than numpy's Poisson sampler in
`benchmarks/sampling_floor.py`, which times both side by side.
These are pure functions of arrays and an explicit generator; the selection
and the table look-up are compiled (numba), since they run over every
candidate or user of every day.
"""

from __future__ import annotations

from itertools import pairwise

import numpy as np
from numba import njit
from scipy.special import pdtr

TABLE_LIMIT = 1 << 24  # entries; above this (absurd page counts) draws fall back to numpy's Poisson sampler
GUIDE_BUCKETS = 4  # guide entries per table entry: a look-up then rarely steps (a mispredicted branch) at all


class PoissonTable:
    """Draws Poisson(rates[i]) for every i at once, by inverse transform from per-rate tables.

    Each distinct rate gets its cumulative distribution function (scipy's
    ``pdtr``) up to the first count where it rounds to 1.0 in double
    precision, and a guide table (Chen and Asau's indexed search, with
    `GUIDE_BUCKETS` buckets per entry) so that a uniform u finds the smallest
    k with CDF(k) > u mostly without a step. The
    counts are exact up to double rounding of the CDF: the same precision as
    any inverse-transform sampler.
    """

    def __init__(self, rates: np.ndarray):
        rates = np.asarray(rates, dtype=np.float64)
        self.rates = rates
        distinct, row = np.unique(rates, return_inverse=True)
        top = np.ceil(distinct + 12.0 * np.sqrt(distinct) + 30.0).astype(np.int64)  # beyond: mass < 1e-20
        self.fallback = int((top + 1).sum()) > TABLE_LIMIT
        self._uniform: np.ndarray | None = None  # the uniforms of a draw, reused
        if self.fallback:
            return
        self.row = row.astype(np.int32)
        sizes = top + 1
        start = np.concatenate(([0], np.cumsum(sizes)))
        k = np.arange(start[-1]) - np.repeat(start[:-1], sizes)
        cdf = pdtr(k, np.repeat(distinct, sizes))
        cdf[start[1:] - 1] = 1.0  # the tail beyond `top` joins the last entry
        ends = start[:-1] + np.array([np.argmax(cdf[a:b] >= 1.0) for a, b in pairwise(start)]) + 1
        keep = np.concatenate([np.arange(a, b) for a, b in zip(start[:-1], ends)])
        self.cdf, self.start = cdf[keep], np.concatenate(([0], np.cumsum(ends - start[:-1])))
        self.guide = guide_table(self.cdf, self.start, GUIDE_BUCKETS)

    def draw(self, rng: np.random.Generator, out: np.ndarray | None = None) -> np.ndarray:
        """One count per rate, from one uniform each (numpy's sampler if the tables would be too large).

        ``out``: an int64 array to write the counts into, which a model reuses
        every day (a large world then takes no fresh memory for them).
        """
        if self.fallback:
            return rng.poisson(self.rates)
        if self._uniform is None:
            self._uniform = np.empty(self.row.shape[0])
        if out is None:
            out = np.empty(self.row.shape[0], np.int64)
        rng.random(out=self._uniform)  # the same numbers as rng.random(n)
        return inverse_transform(self._uniform, self.row, self.cdf, self.start, self.guide, out)


@njit(cache=True)
def guide_table(cdf, start, buckets):
    """Per table of m entries, ``buckets * m`` guide entries: guide[j] = the smallest k with CDF(k) > j / (buckets m)."""
    guide = np.empty(buckets * cdf.shape[0], np.int32)
    for r in range(start.shape[0] - 1):
        s, g = start[r], buckets * (start[r + 1] - start[r])
        k = 0
        for j in range(g):
            while cdf[s + k] <= j / g:
                k += 1
            guide[buckets * s + j] = k
    return guide


def inverse_transform(u, row, cdf, start, guide, out=None):
    """For each i, the smallest k with CDF_row[i](k) > u[i]: a draw from row[i]'s distribution (into ``out``)."""
    if out is None:
        out = np.empty(u.shape[0], np.int64)
    return _inverse_transform(u, row, cdf, start, guide, out)


@njit(cache=True)
def _inverse_transform(u, row, cdf, start, guide, out):
    buckets = guide.shape[0] // cdf.shape[0]
    for i in range(u.shape[0]):
        s = start[row[i]]
        k = guide[buckets * s + int(u[i] * (buckets * (start[row[i] + 1] - s)))]
        while cdf[s + k] <= u[i]:
            k += 1
        while k > 0 and cdf[s + k - 1] > u[i]:  # only if u * m rounded up across a bucket edge
            k -= 1
        out[i] = k
    return out


def sample_threshold(bg: np.ndarray, attention: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """The attention-th largest of ``bg`` uniforms, 0 when bg <= attention."""
    bg = np.asarray(bg, dtype=np.int64)
    attention = np.asarray(attention, dtype=np.int64)
    tau = np.zeros(bg.shape, dtype=np.float64)
    crowded, a, b = threshold_parameters(np.arange(bg.shape[0]), bg, attention)
    if crowded.size:
        tau[crowded] = rng.beta(a, b)
    return tau


def log_thresholds(
    users: np.ndarray, bg: np.ndarray, attention: np.ndarray, rng: np.random.Generator, out: np.ndarray | None = None
) -> np.ndarray:
    """log tau for every user (`sample_threshold`, drawn for ``users`` only, in their order); -inf elsewhere.

    The same draws as ``np.log(sample_threshold(bg[users], attention[users], rng))``
    without gathering the users' arrays first: the model calls this every
    day, with ``out`` (N floats) to write into.
    """
    log_tau = np.empty(bg.shape[0]) if out is None else out
    log_tau.fill(-np.inf)
    crowded, a, b = threshold_parameters(users, bg, attention)
    if crowded.size:
        with np.errstate(divide="ignore"):  # a draw that underflows to 0 gives -inf, as tau = 0 does
            log_tau[crowded] = np.log(rng.beta(a, b))
    return log_tau


@njit(cache=True)
def threshold_parameters(users, bg, attention):
    """Of ``users`` (in order), those with more background items than attention, and their Beta(a, b) parameters.

    tau is the attention-th largest of bg uniforms: Beta(bg - attention + 1, attention).
    """
    crowded = np.empty(users.shape[0], np.int64)
    a = np.empty(users.shape[0], np.float64)
    b = np.empty(users.shape[0], np.float64)
    k = 0
    for i in range(users.shape[0]):
        u = users[i]
        if bg[u] > attention[u]:
            crowded[k], a[k], b[k] = u, bg[u] - attention[u] + 1, attention[u]
            k += 1
    return crowded[:k], a[:k], b[:k]


def log_keys(weights: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """log of the sort key U**(1/w), computed in logs so tiny keys stay ordered."""
    u = 1.0 - rng.random(weights.shape[0])  # in (0, 1], so log is finite
    return np.log(u) / weights


def select_seen(user, log_key, log_tau, attention, scratch=None):
    """Boolean mask of the candidates each user sees.

    ``user``: the user of each candidate; ``log_key``: its log key;
    ``log_tau``: log threshold per user (-inf where tau is 0); ``attention``:
    budget per user. A candidate passes when its key beats the user's
    threshold; of the passing ones, at most ``attention[user]`` with the
    largest keys are kept. One pass counts the passing candidates per user;
    only the users over budget are sorted.
    ``scratch``: two int64 arrays of N entries, zero and -1 (and left so),
    that a model keeps across days, so that a day's work and memory are
    those of its candidates, not of all users; made if not given.
    """
    if scratch is None:
        scratch = (np.zeros(attention.shape[0], np.int64), np.full(attention.shape[0], -1, np.int64))
    return _select_seen(user, log_key, log_tau, attention, scratch[0], scratch[1])


@njit(cache=True)
def _select_seen(user, log_key, log_tau, attention, count, start):
    """`select_seen` with its per-user scratch: ``count`` (all 0) and ``start`` (all -1), both reset on return."""
    n = user.shape[0]
    seen = np.zeros(n, np.bool_)
    for c in range(n):
        if log_key[c] > log_tau[user[c]]:
            seen[c] = True
            count[user[c]] += 1
    total = 0
    for c in range(n):  # where each over-budget user's passing candidates go, in candidate order
        u = user[c]
        if seen[c] and count[u] > attention[u] and start[u] < 0:
            start[u] = total
            total += count[u]
    if total > 0:
        members = np.empty(total, np.int64)
        for c in range(n):
            u = user[c]
            if seen[c] and start[u] >= 0:
                members[start[u]] = c
                start[u] += 1  # ends one past the user's group
        for c in range(n):
            u = user[c]
            if start[u] < 0:
                continue
            group = members[start[u] - count[u] : start[u]]
            order = np.argsort(-log_key[group], kind="mergesort")  # largest keys first
            for j in range(attention[u], group.shape[0]):
                seen[group[order[j]]] = False
            start[u] = -1
    for c in range(n):
        count[user[c]] = 0
    return seen
