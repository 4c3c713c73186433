"""Candidates: the firm items that reach users' feeds today, as aligned arrays.

One row per (user, item) delivery: posts of followed firms, ads targeted at
the user, yesterday's shares by the user's contacts (one row per item, with
social proof s = the number of contacts sharing it) and replies to the
user's comments of yesterday.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from sim.model.mechanics import PAID, POST, REPLY, REPLY_CHANNEL, SHARE


@dataclass
class Candidates:
    """Aligned arrays, one entry per candidate."""

    user: np.ndarray  # int32
    firm: np.ndarray  # int32
    channel: np.ndarray  # int8: POST, PAID, SHARE, REPLY_CHANNEL
    kind: np.ndarray  # int8: PROMO, VALUE, AD, REPLY
    item: np.ndarray  # int32 item id, -1 for replies
    social: np.ndarray  # int32 social proof s (sharing contacts)
    answers_critic: np.ndarray  # bool: a reply to a negative comment

    def __len__(self) -> int:
        return self.user.shape[0]

    def take(self, mask_or_index) -> Candidates:
        """The subset selected by a boolean mask or index array."""
        index = np.flatnonzero(mask_or_index) if mask_or_index.dtype == bool else mask_or_index
        return Candidates(*[getattr(self, name)[index] for name in FIELDS])

    @staticmethod
    def concat(parts: list[Candidates]) -> Candidates:
        return Candidates(*[np.concatenate([getattr(p, name) for p in parts]) for name in FIELDS])


FIELDS = tuple(f.name for f in fields(Candidates))


def _make(user, firm, channel, kind, item, social=None, answers_critic=None) -> Candidates:
    n = user.shape[0]
    return Candidates(
        user=user.astype(np.int32, copy=False),
        firm=_column(firm, n, np.int32),
        channel=np.full(n, channel, dtype=np.int8),
        kind=_column(kind, n, np.int8),
        item=_column(item, n, np.int32),
        social=np.zeros(n, dtype=np.int32) if social is None else social.astype(np.int32, copy=False),
        answers_critic=np.zeros(n, dtype=bool) if answers_critic is None else answers_critic,
    )


def _column(value, n: int, dtype) -> np.ndarray:
    """``value`` as a column of length n: an array as it is, a scalar repeated."""
    if isinstance(value, np.ndarray) and value.ndim:
        return np.asarray(value).astype(dtype, copy=False)
    return np.full(n, value, dtype=dtype)


def empty() -> Candidates:
    return _make(np.empty(0, dtype=np.int32), 0, POST, 0, -1)


def post_candidates(followers: np.ndarray, firm: int, item_ids: np.ndarray, kinds: np.ndarray) -> Candidates:
    """Every post of a firm in every follower's feed."""
    n_posts = item_ids.shape[0]
    return _make(
        np.tile(followers, n_posts),
        firm,
        POST,
        np.repeat(kinds, followers.shape[0]),
        np.repeat(item_ids, followers.shape[0]),
    )


def ad_candidates(targets: np.ndarray, firm: int, item_id: int, ad_kind: int) -> Candidates:
    """One ad impression per target, all of the firm's creative of the day."""
    return _make(targets, firm, PAID, ad_kind, item_id)


def share_candidates(
    readers: np.ndarray, items: np.ndarray, social: np.ndarray, item_firm: np.ndarray, item_kind: np.ndarray
) -> Candidates:
    """Deliveries of shared items, already merged per (reader, item), with social proof.

    See `Contacts.spread_merged`: ``social`` is the number of the reader's
    contacts who shared the item.
    """
    if readers.size == 0:
        return empty()
    return _make(readers, item_firm[items], SHARE, item_kind[items], items, social=social)


def reply_candidates(users: np.ndarray, firms: np.ndarray, to_critic: np.ndarray) -> Candidates:
    """Replies to users' comments of yesterday."""
    return _make(users, firms, REPLY_CHANNEL, REPLY, -1, answers_critic=to_critic.astype(bool))
