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

from sim.model import kernels

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


def moore_neighbours(width: int, height: int, out: np.ndarray | None = None) -> np.ndarray:
    """The 8 torus Moore neighbours of every user, shape (N, 8), int32, in `MOORE_OFFSETS` order.

    ``out``: an (N, 8) int32 array (or view) to write them into.
    """
    if out is None:
        out = np.empty((width * height, 8), dtype=np.int32)
    kernels.moore_table(width, height, MOORE_OFFSETS, out)
    return out


def draw_weak_ties(width: int, height: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct random contacts per user, never self nor a Moore neighbour.

    Rejection sampling: draw every tie uniformly at once, then a compiled pass
    (`kernels.fix_weak_ties`) redraws, in order, each tie that is invalid
    (self, neighbour, repeat of an earlier tie of its row) from a pool of
    spare uniform draws. Each row is then a uniform sample without
    replacement of the allowed users. Shape (N, k), int32, no transient
    larger than the table itself.
    """
    n = width * height
    if k == 0:
        return np.empty((n, 0), dtype=np.int32)
    if k > n - 9:
        raise ValueError(
            f"weak_ties={k} is more than the {n - 9} users outside a Moore block "
            f"on a {width} x {height} grid"
        )
    ties = rng.integers(0, n, size=(n, k), dtype=np.int32)
    pool = 1024 + int(ties.size * min(1.0, 2.0 * (9 + k) / n))  # about twice the expected invalid share
    while kernels.fix_weak_ties(ties, width, height, rng.integers(0, n, size=pool, dtype=np.int32)) < 0:
        pool *= 2  # ran out: carry on from where it stopped with a bigger pool
    return ties


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

    def spread_merged(self, sharers: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Deliveries of shared items merged per (reader, item): reader, item, number of sharers.

        The same deliveries as `spread`, counted per (item, reader), sorted by
        item then reader; compiled, for the daily share traffic.
        """
        return kernels.spread_merged(sharers, items, self.audience.indptr, self.audience.indices, self.n_users)


def _csr(indptr: np.ndarray, indices: np.ndarray, n: int) -> sp.csr_array:
    """A 0/1 CSR array over our own index arrays (scipy keeps them, no copy)."""
    data = np.ones(indices.shape[0], dtype=np.int8)
    return sp.csr_array((data, indices, indptr), shape=(n, n), copy=False)


def build_contacts(width: int, height: int, weak_ties: int, rng: np.random.Generator) -> Contacts:
    """Strong ties (Moore) plus ``weak_ties`` random long-range ties per user.

    Int32 indices throughout; the audience is the transpose, built by a
    compiled counting pass (no COO or sort transient), so at 1 M users the
    build needs little beyond the two index arrays themselves.
    """
    n = width * height
    table = np.empty((n, 8 + weak_ties), dtype=np.int32)
    moore_neighbours(width, height, out=table[:, :8])
    table[:, 8:] = draw_weak_ties(width, height, weak_ties, rng)
    per_user = table.shape[1]
    index_type = np.int32 if n * per_user < np.iinfo(np.int32).max else np.int64
    indptr = np.arange(0, n * per_user + 1, per_user, dtype=index_type)
    indices = table.reshape(-1)
    del table
    kernels.sort_rows(indptr, indices)
    t_indptr, t_indices = kernels.transpose_csr(indptr, indices, n)
    return Contacts(reads=_csr(indptr, indices, n), audience=_csr(t_indptr.astype(index_type), t_indices, n))
