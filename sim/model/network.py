"""Who reads whom: strong ties (torus Moore neighbours) and random weak ties.

Users live one per cell of a W x H torus. User i sits at cell (x, y) with
``i = x * height + y``, so that ``array.reshape(width, height)[x, y]`` is the
value of the user at Mesa grid coordinate (x, y).

Ties are directed: ``contacts[i]`` are the users whose shares i reads. The
audience of a sharer j is everyone who lists j as a contact; it is kept as a
compressed sparse (CSR) structure so that spreading a day's shares is a few
array operations, whatever the number of users. The build's heavy passes
(Moore table, weak-tie repair, row sort, transpose) are compiled (numba) and
live at the end of this module.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from numba import njit

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
    moore_table(width, height, MOORE_OFFSETS, out)
    return out


def draw_weak_ties(width: int, height: int, k: int, rng: np.random.Generator) -> np.ndarray:
    """``k`` distinct random contacts per user, never self nor a Moore neighbour.

    Rejection sampling: draw every tie uniformly at once, then a compiled pass
    (`fix_weak_ties`) redraws, in order, each tie that is invalid
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
    while fix_weak_ties(ties, width, height, rng.integers(0, n, size=pool, dtype=np.int32)) < 0:
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
    sort_rows(indptr, indices)
    t_indptr, t_indices = transpose_csr(indptr, indices, n)
    return Contacts(reads=_csr(indptr, indices, n), audience=_csr(t_indptr.astype(index_type), t_indices, n))


# -- compiled passes of the build ------------------------------------------------


@njit(cache=True)
def moore_table(width, height, offsets, out):
    """Row i of ``out``: user i's torus neighbours at the (dx, dy) ``offsets``, as user indices."""
    for i in range(width * height):
        x, y = i // height, i % height
        for k in range(offsets.shape[0]):
            out[i, k] = (x + offsets[k, 0]) % width * height + (y + offsets[k, 1]) % height


@njit(cache=True)
def fix_weak_ties(ties, width, height, spare):
    """Replace every invalid weak tie (self, Moore neighbour, repeat) in place, row by row.

    Replacements are taken in order from ``spare`` (uniform user draws).
    Returns how many spares were used, or -1 if they ran out (the caller
    then retries with more).
    """
    n, k = ties.shape
    used = 0
    for i in range(n):
        xi, yi = i // height, i % height
        for a in range(k):
            while True:
                j = ties[i, a]
                dx = (j // height - xi) % width
                dy = (j % height - yi) % height
                bad = (dx <= 1 or dx == width - 1) and (dy <= 1 or dy == height - 1)
                if not bad:
                    for b in range(a):
                        if ties[i, b] == j:
                            bad = True
                            break
                if not bad:
                    break
                if used == spare.shape[0]:
                    return -1
                ties[i, a] = spare[used]
                used += 1
    return used


@njit(cache=True)
def transpose_csr(indptr, indices, n, shift=-1):
    """The CSR of the transposed n x n pattern (rows sorted), without a dense or COO transient.

    A scatter straight into the transposed rows misses the cache on almost
    every entry in large worlds. So the entries are first partitioned into
    blocks of 2**shift transposed rows (streaming writes: each entry's
    source row, and its target row within the block as 16 bits), then each
    block is scattered into its own rows, which fit in cache. Rows are
    visited in order in both passes, so each transposed row comes out
    sorted. ``shift`` < 0 picks blocks of about 2**18 entries.
    """
    m = indices.shape[0]
    if shift < 0:
        shift = 0
        while shift < 16 and (np.int64(1) << (shift + 1)) * m <= (np.int64(1) << 18) * max(n, 1):
            shift += 1
    n_blocks = (n >> shift) + 1
    block_ptr = np.zeros(n_blocks + 1, np.int64)
    for q in range(m):
        block_ptr[(indices[q] >> shift) + 1] += 1
    for b in range(n_blocks):
        block_ptr[b + 1] += block_ptr[b]
    source = np.empty(m, indices.dtype)
    target = np.empty(m, np.uint16)  # row within the block
    fill = block_ptr[:-1].copy()
    low_bits = (1 << shift) - 1
    for i in range(n):
        for q in range(indptr[i], indptr[i + 1]):
            j = indices[q]
            b = j >> shift
            source[fill[b]] = i
            target[fill[b]] = j & low_bits
            fill[b] += 1
    t_indptr = np.zeros(n + 1, np.int64)
    for b in range(n_blocks):
        for q in range(block_ptr[b], block_ptr[b + 1]):
            t_indptr[(b << shift) + target[q] + 1] += 1
    for j in range(n):
        t_indptr[j + 1] += t_indptr[j]
    t_indices = np.empty(m, indices.dtype)
    row_fill = t_indptr[:-1].copy()
    for b in range(n_blocks):
        for q in range(block_ptr[b], block_ptr[b + 1]):
            j = (b << shift) + target[q]
            t_indices[row_fill[j]] = source[q]
            row_fill[j] += 1
    return t_indptr, t_indices


@njit(cache=True)
def sort_rows(indptr, indices):
    """Sort each CSR row's column indices in place.

    Rows of up to 32 entries (8 Moore neighbours, already in order, and the
    default 16 weak ties) by insertion sort, which beats a call to numba's
    quicksort per row; longer rows by that quicksort.
    """
    for i in range(indptr.shape[0] - 1):
        a, b = indptr[i], indptr[i + 1]
        if b - a > 32:
            indices[a:b].sort()
            continue
        for q in range(a + 1, b):
            v = indices[q]
            r = q - 1
            while r >= a and indices[r] > v:
                indices[r + 1] = indices[r]
                r -= 1
            indices[r + 1] = v
