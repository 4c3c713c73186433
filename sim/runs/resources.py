"""Up-front estimates of memory and work, so what cannot fit this machine is refused before it starts.

A model run holds a fixed cost per user (grid, network, per-firm state) plus
each day's feed: one row per (user, item) delivery. The estimate takes the
worst case the parameters allow, every user following every firm, so it is
an upper bound: 1.4 to 1.8 times the measured peak with every user
following, about 3.5 times a default 1000 x 1000 world (few follow there).
Measured on this machine (peak RSS over the interpreter's start, 2 firms):

- 1000 x 1000 users, defaults: 790 MiB (800 bytes a user);
- 100 x 100 users, weak_ties 200: +105 MiB over weak_ties 16 (57 bytes a tie);
- 300 x 300 users, all following, posts_per_day 50 / 200: 461 / 1554 MiB
  (about 100 / 86 bytes per feed row a day).

`check_memory` turns an estimate into a one-line refusal (`ResourceError`)
unless forced; the scenario runner, the sweep and the coming validation,
calibration and study commands call it with their own counts.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import psutil

__all__ = [
    "ResourceError",
    "RunEstimate",
    "available_memory",
    "check_memory",
    "human_bytes",
    "run_estimate",
]

BYTES_PER_USER = 1000  # grid, network of 8 neighbours + 16 weak ties, per-firm state (measured ~800-900)
BYTES_PER_WEAK_TIE = 60  # per user and weak tie beyond the default 16 (measured ~57)
BYTES_PER_FEED_ROW = 100  # one (user, item) delivery of a day with its temporaries (measured 86-100)
SECONDS_PER_USER_DAY = 2e-6  # rough: a default world on one core of this machine (1.5-2 us measured)
PROCESS_BASE = 300 * 2**20  # an interpreter with numpy, pandas, Mesa imported (measured ~155-250 MiB)


class ResourceError(ValueError):
    """The requested work does not fit this machine; one line, says how to proceed."""


@dataclass(frozen=True)
class RunEstimate:
    """Memory of one model run (upper bound) and its work in user-days."""

    users: int
    firms: int
    feed_rows_per_user: float
    bytes: int
    user_days: float

    @property
    def seconds(self) -> float:
        """A rough single-core time; for warnings, never for refusals."""
        return self.user_days * SECONDS_PER_USER_DAY * max(1.0, self.feed_rows_per_user / 10)


def _firm_items_per_day(firm: Mapping[str, Any], cost_post: float, users: int) -> float:
    """Items a firm can put in one follower's feed a day: posts (as the budget pays), one ad, replies."""
    posts = float(firm.get("posts_per_day", 0.0))
    budget = firm.get("budget")
    if budget is None:  # given per capita (MARKET_SPEC.md)
        budget = float(firm.get("budget_per_10k") or 0.0) * users / 10_000
    if cost_post > 0:
        posts = min(posts, float(budget) / cost_post)
    # Poisson draws run above the mean: allow 2 standard deviations for a busy day
    posts = posts + 2 * math.sqrt(posts) if posts > 0 else 0.0
    return posts + 1.0  # an ad creative


def run_estimate(kwargs: Mapping[str, Any]) -> RunEstimate:
    """Upper bound of the memory of one run of the model with these keyword arguments."""
    users = int(kwargs.get("width", 100)) * int(kwargs.get("height", 100))
    firms = list(kwargs.get("firms") or [])
    cost_post = float(kwargs.get("cost_post", 1.0))
    rows = sum(_firm_items_per_day(f, cost_post, users) for f in firms) + 1.0  # + shares, bounded by attention
    extra_ties = max(0, int(kwargs.get("weak_ties", 16)) - 16)
    per_user = BYTES_PER_USER + BYTES_PER_WEAK_TIE * extra_ties + 40 * len(firms) + BYTES_PER_FEED_ROW * rows
    steps = int(kwargs.get("steps", 365))
    market = market_bytes(kwargs, users, steps)
    return RunEstimate(
        users=users, firms=len(firms), feed_rows_per_user=rows, bytes=int(users * per_user + market),
        user_days=float(users) * steps,
    )  # fmt: skip


def market_bytes(kwargs: Mapping[str, Any], users: int, steps: int) -> float:
    """The page market's memory: follow edges with their slack, every background post's item record, page series.

    Edges: `sim.model.pages.EDGE_BYTES` per slot, (K + 8 + K/8) slots a user
    for K followed pages; items: about 90 bytes each (item log and its
    counters); the weekly page series 32 bytes a page and week.
    """
    from sim.model.pages import EDGE_BYTES, SLACK_EDGES

    market = kwargs.get("market") or {}
    pages = int(market.get("pages", 0))
    if pages <= 0:
        return 0.0
    followed = min(float(kwargs.get("pages_followed", 109.0)), pages)
    edges = users * (followed * 9 / 8 + SLACK_EDGES) * EDGE_BYTES
    items = pages * float(kwargs.get("page_post_rate", 0.5)) * steps * 90
    weeks = pages * (steps / 7 + 1) * 32 if market.get("weekly", True) else 0.0
    return edges + items + weeks + users * 120  # + per-user day counters and scratch


def available_memory() -> int:
    """Memory the operating system can give now (free plus reclaimable caches)."""
    return int(psutil.virtual_memory().available)


def human_bytes(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:,.0f} {unit}" if unit == "bytes" else f"{n:,.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_memory(need: int, what: str, hint: str, force: bool = False, available: int | None = None) -> None:
    """Refuse (ResourceError, one line) when ``need`` bytes exceed the memory available, unless forced.

    ``what`` says what needs it ("one replication of a 5000 x 5000 world"),
    ``hint`` how to make it fit; the message always adds ``--force``.
    """
    available = available_memory() if available is None else available
    if force or need <= available:
        return
    raise ResourceError(
        f"{what} needs about {human_bytes(need)} of memory, this machine has {human_bytes(available)} "
        f"available; {hint}, or pass --force to try anyway"
    )
