"""User-seeded cascades, as Goel, Watts and Goldstein count them (MARKET_SPEC.md, step 7).

A share by a user who got the item from its page (a follower's post or an
ad) starts a cascade with that user as its root. A share by a user who got
the item as a share joins the cascade of the first of its contacts, in the
stored contact order, whose shares brought the item that day. A cascade's
size is the number of users who shared in it, the root included, so a share
nobody passes on is a cascade of size one. Bookkeeping only: no draws, no
feedback into the model.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from numba import njit


class UserCascades:
    """Every cascade's item, root user, day and size; and the cascade of each share in transit."""

    def __init__(self):
        self._item: list[np.ndarray] = []
        self._root: list[np.ndarray] = []
        self._day: list[np.ndarray] = []
        self._size = np.zeros(64, np.int64)
        self.count = 0

    def assign(self, day, users, items, direct, transit, reads_indptr, reads_indices, n_users) -> np.ndarray:
        """The cascade of each of today's shares (``direct``: got from the page itself); new ones are recorded."""
        if users.size == 0:
            return np.empty(0, np.int64)
        prev_sharer, prev_item, prev_cascade = transit
        cascade, n_new = _assign(users, items, direct, prev_sharer, prev_item, prev_cascade, reads_indptr,
                                 reads_indices, n_users, self.count)  # fmt: skip
        new = cascade >= self.count
        self._item.append(items[new].astype(np.int64))
        self._root.append(users[new].astype(np.int64))
        self._day.append(np.full(n_new, day, np.int32))
        self.count += n_new
        if self.count > self._size.shape[0]:
            self._size = np.concatenate([self._size, np.zeros(max(self.count, self._size.shape[0]), np.int64)])
        np.add.at(self._size, cascade, 1)
        return cascade

    def table(self, item_page: np.ndarray, page_names: np.ndarray) -> pd.DataFrame:
        """One row per user cascade: its item and page, root user, day and size."""
        item = np.concatenate(self._item) if self._item else np.empty(0, np.int64)
        page = item_page[item] if item.size else np.empty(0, np.int64)
        return pd.DataFrame({
            "cascade": np.arange(self.count),
            "item": item,
            "page": page,
            "page_name": page_names[page] if item.size else np.empty(0, object),
            "root_user": np.concatenate(self._root) if self._root else np.empty(0, np.int64),
            "day": np.concatenate(self._day) if self._day else np.empty(0, np.int32),
            "size": self._size[: self.count].copy(),
        })  # fmt: skip


@njit(cache=True)
def _assign(users, items, direct, prev_sharer, prev_item, prev_cascade, indptr, indices, n_users, first_new):
    keys = np.empty(prev_sharer.shape[0], np.int64)
    for k in range(keys.shape[0]):
        keys[k] = np.int64(prev_item[k]) * n_users + prev_sharer[k]
    order = np.argsort(keys, kind="mergesort")
    sorted_keys = keys[order]
    sorted_cascade = prev_cascade[order]
    n = users.shape[0]
    out = np.empty(n, np.int64)
    n_new = 0
    for k in range(n):
        found = -1
        if not direct[k]:
            for q in range(indptr[users[k]], indptr[users[k] + 1]):  # contacts in stored order
                key = np.int64(items[k]) * n_users + indices[q]
                at = np.searchsorted(sorted_keys, key)
                if at < sorted_keys.shape[0] and sorted_keys[at] == key:
                    found = sorted_cascade[at]
                    break
        if found < 0:
            found = first_new + n_new
            n_new += 1
        out[k] = found
    return out, n_new
