"""Posts and ad creatives: who made them, when, of what kind, and who shared them.

Every post, and every firm's ads of one day (one "creative"), is an item with
an id. Shares remember their item, so an item's cascade size is simply the
number of shares it caused, directly or indirectly. The log also enforces
share-at-most-once per user and item.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model.mechanics import AD, KIND_NAMES


@njit(cache=True)
def _merge_new_keys(keys, known):
    """Mask of ``keys`` not in the sorted ``known`` (nor earlier in ``keys``), and the merged sorted keys."""
    fresh = np.zeros(keys.shape[0], np.bool_)
    order = np.argsort(keys, kind="mergesort")
    merged = np.empty(known.shape[0] + keys.shape[0], np.int64)
    i = m = 0
    last = np.int64(-1)
    for q in range(order.shape[0]):
        key = keys[order[q]]
        while i < known.shape[0] and known[i] < key:
            merged[m] = known[i]
            m += 1
            i += 1
        if (i < known.shape[0] and known[i] == key) or (q > 0 and key == last):
            last = key
            continue
        fresh[order[q]] = True
        merged[m] = key
        m += 1
        last = key
    while i < known.shape[0]:
        merged[m] = known[i]
        m += 1
        i += 1
    return fresh, merged[:m]


@njit(cache=True)
def _count_shares(shares, items, fresh):
    for c in range(items.shape[0]):
        if fresh[c]:
            shares[items[c]] += 1


class ItemLog:
    """Growing columns (firm, kind, day, shares) indexed by item id."""

    def __init__(self, n_users: int):
        self.n_users = n_users
        self.size = 0
        self._firm = np.empty(64, dtype=np.int32)
        self._kind = np.empty(64, dtype=np.int8)
        self._day = np.empty(64, dtype=np.int32)
        self._shares = np.zeros(64, dtype=np.int64)
        self._shared_keys = np.empty(0, dtype=np.int64)  # sorted item * N + user

    def _grow(self, extra: int) -> None:
        need = self.size + extra
        if need <= self._firm.shape[0]:
            return
        cap = max(need, 2 * self._firm.shape[0])
        for name in ("_firm", "_kind", "_day", "_shares"):
            old = getattr(self, name)
            new = np.zeros(cap, dtype=old.dtype)
            new[: self.size] = old[: self.size]
            setattr(self, name, new)

    def add(self, firm: int, kinds: np.ndarray, day: int) -> np.ndarray:
        """Register new items of one firm and day; returns their ids."""
        return self.add_many(firm, kinds, day)

    def add_many(self, pages: np.ndarray | int, kinds: np.ndarray, day: int) -> np.ndarray:
        """Register new items of several pages (``pages[k]`` made item k; one page for all) on one day; their ids."""
        n = len(kinds)
        self._grow(n)
        ids = np.arange(self.size, self.size + n)
        self._firm[ids] = pages
        self._kind[ids] = kinds
        self._day[ids] = day
        self.size += n
        return ids

    @property
    def firm(self) -> np.ndarray:
        return self._firm[: self.size]

    @property
    def kind(self) -> np.ndarray:
        return self._kind[: self.size]

    @property
    def day(self) -> np.ndarray:
        return self._day[: self.size]

    @property
    def shares(self) -> np.ndarray:
        return self._shares[: self.size]

    def first_new_shares(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """Mask of (user, item) pairs not shared before; records them as shared."""
        keys = items.astype(np.int64) * self.n_users + users
        fresh, self._shared_keys = _merge_new_keys(keys, self._shared_keys)
        _count_shares(self._shares, items, fresh)
        return fresh

    def forget_before(self, day: int) -> None:
        """Drop share memory of items made before ``day``: they can never travel again."""
        if self._shared_keys.size == 0:
            return
        first_live = int(np.searchsorted(self.day, day))  # items are logged in day order
        if first_live == 0:
            return
        self._shared_keys = self._shared_keys[self._shared_keys >= first_live * self.n_users]

    def cascades(self) -> dict[str, np.ndarray]:
        """Cascade size of every item, as columns."""
        return {
            "item": np.arange(self.size),
            "firm_index": self.firm.copy(),
            "kind": np.array(KIND_NAMES, dtype=object)[self.kind],
            "is_ad": self.kind == AD,
            "day": self.day.copy(),
            "cascade_size": self.shares.copy(),
        }
