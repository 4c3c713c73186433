"""The market view's numbers: what users' feeds held and what they read, by source, and the feed's levers.

Pure functions of a running model, from its public tables, so the page,
the tests and a notebook compute them the same way. In the page market
(``market.pages > 0``) a feed holds three sources:

- *friends*: friends' posts, the platform table's ``friend_posts`` and ``friend_posts_seen``;
- *firms*: the firms' items on every channel (posts, ads, shares, replies), the firm table's
  ``delivered`` and ``impressions`` summed over firms;
- *pages*: the background pages' items (posts and shares), the rest of the platform's page items:
  ``candidates - firms`` offered and ``seen_candidates - firms`` read.

The shown share is the platform table's: items read over items offered,
all three sources together. Today's numbers also come per user from
``model.market.user_counts`` (`sim.model.market_day.USER_COUNTS`), which
must add up to the tables' last day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SOURCES = (  # key, label, colour
    ("friends", "friends' posts", "#1b9e77"),
    ("pages", "pages' items", "#969696"),
    ("firms", "firms' items", "#7b3294"),
)
ALL_COLOUR = "#000000"  # every source together: the shown share
COLUMNS = ("step", *(f"{key}_{part}" for key, _, _ in SOURCES for part in ("delivered", "seen")), "shown_share")
# the feed's levers (MARKET_SPEC.md), with the value that switches each off
LEVERS = (  # parameter, label, off
    ("source_diversity", "source diversity", 1.0),
    ("quality_ranking", "quality ranking", 0.0),
    ("complaint_ranking", "complaint ranking", 0.0),
    ("weight_promo", "promo weight", 1.0),
    ("annoy_base", "baseline annoyance", 0.0),
)

__all__ = ["ALL_COLOUR", "COLUMNS", "LEVERS", "SOURCES", "composition", "composition_today", "is_market",
           "lever_line", "levers_on"]


def is_market(model) -> bool:
    """Whether the model runs the page market (background pages that are real pages)."""
    return getattr(model, "market", None) is not None


def composition(model, firm_table: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per day: each source's items offered (delivered) and read (seen), whole platform, and the shown share.

    ``firm_table``: the model's `firm_table()` if the caller has it already.
    """
    platform = model.platform_table()
    firm_table = model.firm_table() if firm_table is None else firm_table
    firms = firm_table.groupby("step", sort=True)[["delivered", "impressions"]].sum()
    firms = firms.reindex(platform["step"], fill_value=0)
    firm_delivered, firm_seen = firms["delivered"].to_numpy(np.int64), firms["impressions"].to_numpy(np.int64)
    return pd.DataFrame({
        "step": platform["step"].to_numpy(),
        "friends_delivered": platform["friend_posts"].to_numpy(np.int64),
        "friends_seen": platform["friend_posts_seen"].to_numpy(np.int64),
        "pages_delivered": platform["candidates"].to_numpy(np.int64) - firm_delivered,
        "pages_seen": platform["seen_candidates"].to_numpy(np.int64) - firm_seen,
        "firms_delivered": firm_delivered,
        "firms_seen": firm_seen,
        "shown_share": platform["shown_share"].to_numpy(float),
    }, columns=list(COLUMNS))  # fmt: skip


def composition_today(model) -> dict[str, float]:
    """Today's feed per user, averaged over all users: each source's items delivered and seen, and the shown share.

    From ``model.market.user_counts`` (what each user was offered and read
    on the last day); zeros before the first day.
    """
    counts = model.market.user_counts
    n = counts.shape[0]
    total = counts.sum(axis=0, dtype=np.int64)
    # USER_COUNTS: page_items, friend_posts, page_items_seen, friend_posts_seen, firm_items, firm_items_seen
    out = {
        "friends_delivered": total[1] / n, "friends_seen": total[3] / n,
        "pages_delivered": total[0] / n, "pages_seen": total[2] / n,
        "firms_delivered": total[4] / n, "firms_seen": total[5] / n,
    }  # fmt: skip
    delivered = out["friends_delivered"] + out["pages_delivered"] + out["firms_delivered"]
    seen = out["friends_seen"] + out["pages_seen"] + out["firms_seen"]
    out["shown_share"] = seen / delivered if delivered else float("nan")
    return {key: float(value) for key, value in out.items()}


def levers_on(params) -> list[str]:
    """The levers set away from off (model parameters or a scenario), by parameter name."""
    return [name for name, _, off in LEVERS if not np.isclose(getattr(params, name), off)]


def lever_line(params) -> str:
    """The feed's levers in one line: each lever's value, and which are off."""
    parts = []
    for name, label, off in LEVERS:
        value = float(getattr(params, name))
        parts.append(f"{label} {value:g}" + (" (off)" if np.isclose(value, off) else ""))
    return "Feed levers: " + " · ".join(parts)
