"""The feed's levers (MARKET_SPEC.md, step 3): quality ranking, complaint ranking, source diversity.

Quality and complaint ranking multiply every item of page j by
Q_j = q_j^quality_ranking * h_j^(-complaint_ranking), where q_j and h_j are
the platform's estimates of the page's positive and negative reactions per
impression relative to the platform's, from decayed counts with a prior of
``quality_prior`` pseudo-impressions, clipped to [0.01, 100] and updated at
the end of each day. Source diversity gives a user's k-th item of one page
today (in a random order) the factor ``source_diversity^(k-1)``. Every lever
is off by default, and then nothing here draws a number or changes a weight,
so part 1 stays bit-identical.
"""

from __future__ import annotations

import numpy as np
from numba import njit

CLIP = (0.01, 100.0)


class FeedLevers:
    """Decayed impression, positive and negative counts per page and for the platform, and the factor Q."""

    def __init__(self, n_pages: int, config):
        self.configure(config)
        self.counts = np.zeros((3, n_pages))  # I_j, L_j, H_j
        self.totals = np.zeros(3)  # I, L, H
        self.q = np.ones(n_pages)
        self.h = np.ones(n_pages)
        self.factor = np.ones(n_pages)

    def configure(self, config) -> None:
        """Take the levers' settings from a configuration (at build, or when the rules change mid-run)."""
        self.quality_ranking = config.quality_ranking
        self.complaint_ranking = config.complaint_ranking
        self.memory = config.quality_memory
        self.prior = config.quality_prior
        self.diversity = config.source_diversity
        if hasattr(self, "q"):  # the estimates stay; Q follows the new exponents from today
            self.factor = self.q**self.quality_ranking * self.h ** (-self.complaint_ranking) if self.ranking_on \
                else np.ones_like(self.q)

    @property
    def ranking_on(self) -> bool:
        return self.quality_ranking != 0.0 or self.complaint_ranking != 0.0

    @property
    def any_on(self) -> bool:
        """Whether any lever changes a weight (the part-1 feed then takes `weights`)."""
        return self.ranking_on or self.diversity < 1.0

    def end_of_day(self, impressions: np.ndarray, positives: np.ndarray, negatives: np.ndarray) -> None:
        """Decay the counts, add today's (every channel, ads included), and re-estimate q, h and Q for tomorrow."""
        keep = 1.0 - self.memory
        today = np.stack([impressions, positives, negatives]).astype(np.float64)
        self.counts = keep * self.counts + today
        self.totals = keep * self.totals + today.sum(axis=1)
        self.q = relative_rate(self.counts[1], self.counts[0], self.totals[1], self.totals[0], self.prior)
        self.h = relative_rate(self.counts[2], self.counts[0], self.totals[2], self.totals[0], self.prior)
        if self.ranking_on:
            self.factor = self.q**self.quality_ranking * self.h ** (-self.complaint_ranking)

    def weights(self, weights: np.ndarray, user: np.ndarray, page: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """Part-1 candidates' weights times Q of their page and D of their rank among the user's items of that page."""
        out = weights * self.factor[page] if self.ranking_on else weights
        if self.diversity < 1.0:
            out = out * diversity_factors(user, page, rng.random(user.shape[0]), self.diversity)
        return out


def relative_rate(events, impressions, total_events, total_impressions, prior):
    """((E_j + c E/I) / (I_j + c)) / (E/I), clipped to [0.01, 100]; 1 while the platform has no such events."""
    if total_impressions <= 0 or total_events <= 0:
        return np.ones(events.shape[0])
    rate = total_events / total_impressions
    with np.errstate(invalid="ignore", divide="ignore"):
        estimate = (events + prior * rate) / (impressions + prior) / rate
    estimate = np.where(np.isfinite(estimate), estimate, 1.0)  # no impressions and no prior: no evidence
    return np.clip(estimate, *CLIP)


@njit(cache=True)
def diversity_factors(user, page, u, diversity):
    """diversity^(k-1) for each candidate, k its rank by ``u`` among the same user's candidates of the same page."""
    n = user.shape[0]
    key = np.empty(n)
    top = 1
    for c in range(n):
        top = max(top, page[c] + 1)
    for c in range(n):
        key[c] = (np.float64(user[c]) * top + page[c]) + u[c]
    order = np.argsort(key)
    out = np.ones(n)
    k = 0
    for r in range(n):
        c = order[r]
        same = r > 0 and user[order[r - 1]] == user[c] and page[order[r - 1]] == page[c]
        k = k + 1 if same else 0
        out[c] = diversity**k
    return out
