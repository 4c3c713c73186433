"""Firms: Mesa agents that publish, buy ads and handle comments on a budget.

A strategy is nothing but the values of these parameters; no rule anywhere
in the model names a strategy. Each day the budget pays posts first, then
ad impressions, then replies; what it cannot pay is not done and what is
left over is lost.
"""

from __future__ import annotations

import math

import numpy as np
from mesa.discrete_space import FixedAgent
from numba import njit

FIRM_FIELDS = (
    "posts_per_day",
    "promo_share",
    "quality",
    "ads_per_day",
    "reply_rate",
    "delete_critics",
    "budget",
)

_EPS = 1e-9  # guards floor(budget / cost) against 20.0 / 0.01 = 1999.9999...


def affordable(money: float, unit_cost: float) -> int | float:
    """How many units of ``unit_cost`` the money pays (infinite when free)."""
    if unit_cost <= 0:
        return math.inf
    return math.floor(money / unit_cost + _EPS)


@njit(cache=True)
def handle_comments(negative, order, u_reply, u_delete, reply_rate, delete_critics, can_pay):
    """`Firm.answer_comments` without the draws and the budget bookkeeping: (answered, deleted) masks.

    ``order``: the order comments are handled in; ``u_reply``: a uniform per
    comment in that order; ``u_delete``: a uniform per comment.
    """
    n = negative.shape[0]
    wants_reply = u_reply < reply_rate
    answered = np.zeros(n, np.bool_)
    paid = 0
    for j in range(n):
        if wants_reply[j]:
            paid += 1
            if paid <= can_pay:
                answered[order[j]] = True
    deleted = np.empty(n, np.bool_)
    for i in range(n):
        deleted[i] = negative[i] and not answered[i] and u_delete[i] < delete_critics
    return answered, deleted


class Firm(FixedAgent):
    """A firm with a home cell, a daily budget and a content strategy."""

    def __init__(self, model, *, index: int, name: str, home: tuple[int, int], **params):
        super().__init__(model)
        self.index = index
        self.name = name
        self.home = home
        for field in FIRM_FIELDS:
            setattr(self, field, params[field])
        self.budget_left = 0.0
        self.today: dict[str, float] = {}

    # -- budget, in the spec's order: posts, then ads, then replies ---------

    def start_day(self) -> None:
        """Refill the day's budget; yesterday's leftover is lost."""
        self.budget_left = float(self.budget)

    def _spend(self, units: int, unit_cost: float) -> None:
        self.budget_left = max(0.0, self.budget_left - units * unit_cost)

    def draw_posts(self, rng: np.random.Generator, cost_post: float) -> np.ndarray:
        """Today's posts as a boolean array: True for promo, False for value."""
        wanted = int(rng.poisson(self.posts_per_day))
        n = int(min(wanted, affordable(self.budget_left, cost_post)))
        self._spend(n, cost_post)
        return rng.random(n) < self.promo_share

    def ad_count(self, eligible: int, cost_ad: float) -> int:
        """Ad impressions bought today: wanted, affordable and targetable."""
        n = int(min(self.ads_per_day, affordable(self.budget_left, cost_ad), eligible))
        self._spend(n, cost_ad)
        return n

    def answer_comments(
        self, negative: np.ndarray, rng: np.random.Generator, cost_reply: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Handle today's comments in random order.

        ``negative`` flags each comment as critical. Each comment is answered
        with probability ``reply_rate`` while the budget pays (the draw comes
        first, then the budget check); each unanswered negative comment is
        deleted with probability ``delete_critics``. Returns the boolean masks
        (answered, deleted) aligned with ``negative``.
        """
        n = negative.shape[0]
        if n == 0:
            return np.zeros(0, dtype=bool), np.zeros(0, dtype=bool)
        order, u_reply, u_delete = rng.permutation(n), rng.random(n), rng.random(n)
        can_pay = float(affordable(self.budget_left, cost_reply))
        answered, deleted = handle_comments(negative, order, u_reply, u_delete, self.reply_rate,
                                            self.delete_critics, can_pay)  # fmt: skip
        self._spend(int(answered.sum()), cost_reply)
        return answered, deleted

    @property
    def spent_today(self) -> float:
        return float(self.budget) - self.budget_left
