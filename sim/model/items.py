"""Posts and ad creatives: who made them, when, of what kind, and who shared them.

Every post, and every firm's ads of one day (one "creative"), is an item with
an id. Shares remember their item, so an item's cascade size is simply the
number of shares it caused, directly or indirectly. The log also enforces
share-at-most-once per user and item.
"""

from __future__ import annotations

import numpy as np

from sim.model.mechanics import AD, KIND_NAMES


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
        n = len(kinds)
        self._grow(n)
        ids = np.arange(self.size, self.size + n)
        self._firm[ids] = firm
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
        fresh = ~np.isin(keys, self._shared_keys, assume_unique=False)
        if fresh.any():
            self._shared_keys = np.union1d(self._shared_keys, keys[fresh])
            np.add.at(self._shares, items[fresh], 1)
        return fresh

    def forget_before(self, day: int) -> None:
        """Drop share memory of items made before ``day``: they can never travel again."""
        if self._shared_keys.size == 0:
            return
        dead = self.day < day
        if not dead.any():
            return
        first_live = int(np.argmin(dead)) if not dead.all() else self.size
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
