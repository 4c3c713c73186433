"""Background pages and the users' follow edges to them (MARKET_SPEC.md, "Entities").

A background page is drawn once: Pareto attractiveness, LogNormal posts per
day, Beta promo share and quality. Follow edges live in one compact
per-user (CSR-like) layout: user i's edges are ``page[start[i]:start[i] +
length[i]]``, with ``trust`` and ``fatigue`` beside them (float32: at a million users
the edges are most of a world's memory), and room for
``capacity[i]`` edges. An unfollow removes an edge by moving the row's last
edge into its place; a follow appends one, and a row that is full is grown
by `FollowEdges.grow`, which lays all rows out again with more room. No
array is users x pages.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

SLACK_EDGES = 8  # free slots per user beyond its set-up edges (and 1 in 8 more): a row rarely fills
EDGE_BYTES = 4 + 4 + 4  # page (int32), trust and fatigue (float32) per edge slot
EDGE_STATE = np.float32  # an edge's trust and fatigue: computed in float64, stored in float32 (half the memory)


@dataclass
class BackgroundPages:
    """The P background pages' drawn parameters, and their attractiveness' running sum for draws by popularity."""

    attractiveness: np.ndarray
    post_rate: np.ndarray
    promo_share: np.ndarray
    quality: np.ndarray

    def __post_init__(self):
        self.cumulative = np.cumsum(self.attractiveness)

    @property
    def size(self) -> int:
        return self.attractiveness.shape[0]


def beta_with_mean(mean: float, concentration: float, n: int, rng: np.random.Generator) -> np.ndarray:
    """Beta draws with the given mean and concentration (alpha + beta); a mean of 0 or 1 gives that value."""
    if mean <= 0.0 or mean >= 1.0:
        return np.full(n, float(mean))
    return rng.beta(mean * concentration, (1.0 - mean) * concentration, size=n)


def draw_pages(market, page_post_rate: float, rng: np.random.Generator) -> BackgroundPages:
    """Draw the background pages of a `MarketParams` block (posting rates with mean ``page_post_rate``)."""
    n = market.pages
    attractiveness = (1.0 - rng.random(n)) ** (-1.0 / market.popularity_alpha)  # U in (0, 1]: a >= 1
    sigma = market.post_rate_sigma
    if page_post_rate > 0:
        rate = rng.lognormal(np.log(page_post_rate) - sigma**2 / 2.0, sigma, size=n)
    else:
        rate = np.zeros(n)
    promo = beta_with_mean(market.promo_share, market.concentration, n, rng)
    quality = beta_with_mean(market.quality, market.concentration, n, rng)
    return BackgroundPages(attractiveness, rate, promo, quality)


def edge_memory(pages_per_user: np.ndarray) -> int:
    """Bytes the follow edges of users following ``pages_per_user`` pages take, with their slack."""
    slots = pages_per_user.astype(np.int64) + SLACK_EDGES + pages_per_user // 8
    return int(slots.sum()) * EDGE_BYTES


class FollowEdges:
    """Every user's follow edges to background pages, with trust and fatigue, in compact rows."""

    def __init__(self, start, length, capacity, page, trust, fatigue):
        self.start, self.length, self.capacity = start, length, capacity
        self.page, self.trust, self.fatigue = page, trust, fatigue

    @classmethod
    def draw(cls, wanted: np.ndarray, pages: BackgroundPages, trust_start: float, rng) -> FollowEdges:
        """Each user i follows up to wanted[i] distinct pages drawn by popularity (MARKET_SPEC.md, follow edges)."""
        wanted = wanted.astype(np.int32)
        capacity = (wanted + SLACK_EDGES + wanted // 8).astype(np.int32)
        start = np.zeros(wanted.shape[0] + 1, np.int64)
        np.cumsum(capacity, out=start[1:])
        page = np.full(int(start[-1]), -1, np.int32)
        length = draw_edges(wanted, start, pages.cumulative, rng, page)
        trust = np.full(page.shape[0], trust_start, EDGE_STATE)
        fatigue = np.zeros(page.shape[0], EDGE_STATE)
        return cls(start, length, capacity, page, trust, fatigue)

    @property
    def n_users(self) -> int:
        return self.length.shape[0]

    def followers(self, n_pages: int) -> np.ndarray:
        """Followers of each background page, counted from the edges."""
        return count_followers(self.start, self.length, self.page, n_pages)

    def row(self, user: int) -> np.ndarray:
        """The pages user ``user`` follows (a view, in the row's order)."""
        s = self.start[user]
        return self.page[s : s + self.length[user]]

    def grow(self, users: np.ndarray, new_pages: np.ndarray, trust_start: float) -> None:
        """Add the follows that did not fit (user, page), in order, laying every row out again with more room."""
        extra = np.bincount(users, minlength=self.n_users).astype(np.int32)
        capacity = self.length + extra + SLACK_EDGES + (self.length + extra) // 8
        start = np.zeros(self.n_users + 1, np.int64)
        np.cumsum(capacity, out=start[1:])
        page = np.full(int(start[-1]), -1, np.int32)
        trust = np.zeros(page.shape[0], EDGE_STATE)
        fatigue = np.zeros(page.shape[0], EDGE_STATE)
        relayout(self.start, self.length, self.page, self.trust, self.fatigue, start, page, trust, fatigue)
        length = self.length.copy()
        append_edges(users, new_pages, start, length, page, trust, fatigue, trust_start)
        self.start, self.length, self.capacity = start, length, capacity.astype(np.int32)
        self.page, self.trust, self.fatigue = page, trust, fatigue


@njit(cache=True)
def pick_by_popularity(cumulative, u):
    """The page whose share of the attractiveness sum covers u * total (binary search)."""
    target = u * cumulative[-1]
    lo, hi = 0, cumulative.shape[0] - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cumulative[mid] > target:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True)
def draw_edges(wanted, start, cumulative, rng, page):
    """Per user: draw pages by popularity with replacement, drop repeats, stop at wanted or 10 * wanted draws."""
    n = wanted.shape[0]
    length = np.zeros(n, np.int32)
    for i in range(n):
        s = start[i]
        k = 0
        for _ in range(10 * wanted[i]):
            if k == wanted[i]:
                break
            b = pick_by_popularity(cumulative, rng.random())
            new = True
            for j in range(k):
                if page[s + j] == b:
                    new = False
                    break
            if new:
                page[s + k] = b
                k += 1
        length[i] = k
    return length


@njit(cache=True)
def count_followers(start, length, page, n_pages):
    out = np.zeros(n_pages, np.int64)
    for i in range(length.shape[0]):
        for e in range(start[i], start[i] + length[i]):
            out[page[e]] += 1
    return out


@njit(cache=True)
def relayout(old_start, length, old_page, old_trust, old_fatigue, start, page, trust, fatigue):
    for i in range(length.shape[0]):
        a, b = old_start[i], start[i]
        for j in range(length[i]):
            page[b + j], trust[b + j], fatigue[b + j] = old_page[a + j], old_trust[a + j], old_fatigue[a + j]


@njit(cache=True)
def append_edges(users, new_pages, start, length, page, trust, fatigue, trust_start):
    for q in range(users.shape[0]):
        i = users[q]
        e = start[i] + length[i]
        page[e], trust[e], fatigue[e] = new_pages[q], trust_start, 0.0
        length[i] += 1
