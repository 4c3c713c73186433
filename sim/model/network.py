"""Who reads whom: strong ties (torus Moore neighbours) and random weak ties.

Users live one per cell of a W x H torus. User i sits at cell (x, y) with
``i = x * height + y``, so that ``array.reshape(width, height)[x, y]`` is the
value of the user at Mesa grid coordinate (x, y).

Ties are directed: ``contacts[i]`` are the users whose shares i reads. The
audience of a sharer j is everyone who lists j as a contact; it is kept as a
compressed sparse (CSR) structure so that spreading a day's shares is a few
array operations, whatever the number of users.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

MOORE_OFFSETS = np.array(
    [(-1, -1), (-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0), (1, 1)],
    dtype=np.int64,
)


def cell_of(index: np.ndarray | int, height: int) -> tuple:
    """Grid coordinate (x, y) of user index ``index``."""
    return np.divmod(index, height)


def index_of(x, y, height: int):
    """User index of grid coordinate (x, y)."""
    return np.asarray(x) * height + np.asarray(y)


def moore_neighbours(width: int, height: int) -> np.ndarray:
    """The 8 torus Moore neighbours of every user, shape (N, 8), int32."""
    x, y = np.divmod(np.arange(width * height, dtype=np.int64), height)
    nx = (x[:, None] + MOORE_OFFSETS[:, 0]) % width
    ny = (y[:, None] + MOORE_OFFSETS[:, 1]) % height
    return (nx * height + ny).astype(np.int32)


def _in_moore_block(i: np.ndarray, j: np.ndarray, width: int, height: int) -> np.ndarray:
    """True where j is i itself or one of i's torus Moore neighbours."""
    xi, yi = np.divmod(i, height)
    xj, yj = np.divmod(j, height)
    dx = (xj - xi) % width
    dy = (yj - yi) % height
    near_x = (dx <= 1) | (dx == width - 1)
    near_y = (dy <= 1) | (dy == height - 1)
    return near_x & near_y


def _duplicate_mask(rows: np.ndarray) -> np.ndarray:
    """True at every entry that repeats an earlier-sorted entry of its row."""
    order = np.argsort(rows, axis=1, kind="stable")
    ranked = np.take_along_axis(rows, order, axis=1)
    repeat = np.zeros_like(rows, dtype=bool)
    dup_sorted = ranked[:, 1:] == ranked[:, :-1]
    np.put_along_axis(repeat, order[:, 1:], dup_sorted, axis=1)
    return repeat


def draw_weak_ties(width: int, height: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct random contacts per user, never self nor a Moore neighbour.

    Rejection sampling: draw uniformly, then redraw only the entries that are
    invalid (self, neighbour, repeat) until none are. Shape (N, k), int32.
    """
    n = width * height
    if k == 0:
        return np.empty((n, 0), dtype=np.int32)
    if k > n - 9:
        raise ValueError(
            f"weak_ties={k} is more than the {n - 9} users outside a Moore block "
            f"on a {width} x {height} grid"
        )
    users = np.arange(n, dtype=np.int64)
    ties = rng.integers(0, n, size=(n, k), dtype=np.int64)
    rows = users
    while True:
        block = ties if rows is users else ties[rows]
        bad = _in_moore_block(rows[:, None], block, width, height) | _duplicate_mask(block)
        bad_rows = bad.any(axis=1)
        if not bad_rows.any():
            break
        rows, block, bad = rows[bad_rows], block[bad_rows], bad[bad_rows]
        block[bad] = rng.integers(0, n, size=int(bad.sum()), dtype=np.int64)
        ties[rows] = block
    return ties.astype(np.int32)


@dataclass(frozen=True)
class Contacts:
    """Directed contact structure in compressed sparse form.

    ``reads`` row i lists the users i reads (its contacts); ``audience`` row j
    lists the users who read j. Both are ``scipy.sparse.csr_array``.
    """

    reads: sp.csr_array
    audience: sp.csr_array

    @property
    def n_users(self) -> int:
        return self.reads.shape[0]

    def contacts_of(self, i: int) -> np.ndarray:
        """Users that user i reads."""
        return self.reads.indices[self.reads.indptr[i] : self.reads.indptr[i + 1]]

    def spread(self, sharers: np.ndarray, payload: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Every (reader, payload) pair for the given sharers' audiences.

        Returns two aligned arrays: the reader of each delivery and the
        payload (for example an item id) the sharer passed on.
        """
        indptr, indices = self.audience.indptr, self.audience.indices
        starts = indptr[sharers]
        counts = indptr[sharers + 1] - starts
        total = int(counts.sum())
        if total == 0:
            return np.empty(0, dtype=np.int64), np.empty(0, dtype=payload.dtype)
        # positions of each sharer's audience slice, concatenated
        offsets = np.repeat(starts - np.cumsum(counts) + counts, counts)
        positions = offsets + np.arange(total)
        return indices[positions].astype(np.int64), np.repeat(payload, counts)


def build_contacts(width: int, height: int, weak_ties: int, rng: np.random.Generator) -> Contacts:
    """Strong ties (Moore) plus ``weak_ties`` random long-range ties per user."""
    n = width * height
    table = np.concatenate(
        [moore_neighbours(width, height), draw_weak_ties(width, height, weak_ties, rng)], axis=1
    )
    per_user = table.shape[1]
    indptr = np.arange(0, n * per_user + 1, per_user, dtype=np.int64)
    data = np.ones(n * per_user, dtype=np.int8)
    reads = sp.csr_array((data, table.ravel(), indptr), shape=(n, n))
    reads.sort_indices()
    audience = sp.csr_array(reads.T)  # transpose of CSR is CSC; convert back to CSR rows
    audience.sort_indices()
    return Contacts(reads=reads, audience=audience)
