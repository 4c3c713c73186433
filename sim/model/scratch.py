"""Scratch arrays that a model's day reuses instead of allocating them anew.

A compiled pass that counts or marks per user (or per pair) needs an array of
N entries. Allocated every day, such an array costs page faults and zeroing
over all N users however few the day touches: at 10 M users that was a third
of a day's CPU time, spent in the kernel. Each array here is allocated once
per model, holds its neutral value (0, -1 or False) between uses, and the
pass that uses it resets only the entries it touched.
"""

from __future__ import annotations

import numpy as np


class DayScratch:
    """Per-user and per-pair scratch for one model (about 53 bytes a user with two firms)."""

    def __init__(self, n_users: int, n_firms: int):
        self.slot = np.full(n_users * n_firms, -1, np.int32)  # pair -> tally row (`kernels.tally_pairs`)
        self.draw_of = np.full(n_users, -1, np.int32)  # eligible rank -> ad draw (`feed.ad_targets`)
        self.mark = np.zeros(n_users, np.bool_)  # user has a candidate (`kernels.distinct_users`)
        self.select = (np.zeros(n_users, np.int64), np.full(n_users, -1, np.int64))  # `attention.select_seen`
        self.offered = np.zeros(n_users, np.int32)  # candidates per user (`kernels.attention_totals`)
        self.took = np.zeros(n_users, np.int32)  # seen per user (`kernels.attention_totals`)
        self.background = np.empty(n_users, np.int64)  # today's background counts
        self.log_tau = np.empty(n_users)  # today's log thresholds
        self._tally = np.empty((0, 8))

    def tally_rows(self, n: int) -> np.ndarray:
        """At least ``n`` rows of pair tallies (`kernels.tally_pairs`), grown by doubling."""
        if self._tally.shape[0] < n:
            self._tally = np.empty((max(n, 2 * self._tally.shape[0]), 8))
        return self._tally
