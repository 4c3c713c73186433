"""Candidates: the firm items that reach users' feeds today, as aligned arrays.

One row per (user, item) delivery: posts of followed firms, ads targeted at
the user, yesterday's shares by the user's contacts (one row per item, with
social proof s = the number of contacts sharing it) and replies to the
user's comments of yesterday. `assemble` builds them all in one compiled
pass, firm by firm (each post to every follower, then the firm's ads), then
shares, then replies: the order in which thresholds and keys are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np
from numba import njit

from sim.model.mechanics import AD, PAID, POST, REPLY, REPLY_CHANNEL, SHARE


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


FIELDS = tuple(f.name for f in fields(Candidates))


@dataclass
class Published:
    """What the firms put out today, firm by firm (CSR: firm f's slice is ``ptr[f]:ptr[f + 1]``)."""

    follower_ptr: np.ndarray  # followers of each firm (its posts' audience)
    followers: np.ndarray
    post_ptr: np.ndarray  # each firm's posts: item id and kind
    post_item: np.ndarray
    post_kind: np.ndarray
    ad_ptr: np.ndarray  # each firm's ad targets, all shown the firm's creative of the day
    ad_target: np.ndarray
    ad_item: np.ndarray  # (F,) the creative's item id, -1 when the firm bought no ads


@dataclass
class Arrivals:
    """What travels from yesterday: shares merged per (reader, item), and replies to comments."""

    share_reader: np.ndarray
    share_item: np.ndarray
    share_social: np.ndarray  # contacts of the reader who shared the item
    reply_user: np.ndarray
    reply_firm: np.ndarray
    reply_critic: np.ndarray  # bool: the reply answers a negative comment


def assemble(published: Published, arrivals: Arrivals, item_firm: np.ndarray, item_kind: np.ndarray) -> Candidates:
    """Every candidate of the day: posts and ads firm by firm, then shares (each item's firm and kind), then replies."""
    p, a = published, arrivals
    return Candidates(*_assemble(
        p.follower_ptr, p.followers, p.post_ptr, p.post_item, p.post_kind, p.ad_ptr, p.ad_target, p.ad_item,
        a.share_reader, a.share_item, a.share_social, item_firm, item_kind, a.reply_user, a.reply_firm,
        a.reply_critic,
    ))  # fmt: skip


@njit(cache=True)
def _assemble(follower_ptr, followers, post_ptr, post_item, post_kind, ad_ptr, ad_target, ad_item,
              share_reader, share_item, share_social, item_firm, item_kind, reply_user, reply_firm, reply_critic):
    n_firms = ad_item.shape[0]
    n = share_reader.shape[0] + reply_user.shape[0] + ad_target.shape[0]
    for f in range(n_firms):
        n += (post_ptr[f + 1] - post_ptr[f]) * (follower_ptr[f + 1] - follower_ptr[f])
    user = np.empty(n, np.int32)
    firm = np.empty(n, np.int32)
    channel = np.empty(n, np.int8)
    kind = np.empty(n, np.int8)
    item = np.empty(n, np.int32)
    social = np.zeros(n, np.int32)
    answers_critic = np.zeros(n, np.bool_)
    c = 0
    for f in range(n_firms):
        for q in range(post_ptr[f], post_ptr[f + 1]):  # every post to every follower
            for j in range(follower_ptr[f], follower_ptr[f + 1]):
                user[c], firm[c], channel[c], kind[c], item[c] = followers[j], f, POST, post_kind[q], post_item[q]
                c += 1
        for j in range(ad_ptr[f], ad_ptr[f + 1]):  # one impression of the day's creative per target
            user[c], firm[c], channel[c], kind[c], item[c] = ad_target[j], f, PAID, AD, ad_item[f]
            c += 1
    for j in range(share_reader.shape[0]):
        i = share_item[j]
        user[c], firm[c], channel[c], kind[c], item[c] = share_reader[j], item_firm[i], SHARE, item_kind[i], i
        social[c] = share_social[j]
        c += 1
    for j in range(reply_user.shape[0]):
        user[c], firm[c], channel[c], kind[c], item[c] = reply_user[j], reply_firm[j], REPLY_CHANNEL, REPLY, -1
        answers_critic[c] = reply_critic[j]
        c += 1
    return user, firm, channel, kind, item, social, answers_critic


@njit(cache=True)
def audiences(follows, ads_hidden):
    """Per firm, in user order: its followers, and how many users its ads may target (not following, not hidden).

    Returns (follower_ptr, followers, n_eligible) over an (N, F) ``follows``:
    firm f's followers are ``followers[follower_ptr[f]:follower_ptr[f + 1]]``.
    The eligible users themselves are listed only for the firms that buy ads
    (`ad_targets`), so a day does not write N user ids per firm. Firm by
    firm and without branches (every user is written, only followers
    advance the cursor): follows are too random to predict.
    """
    n_users, n_firms = follows.shape
    follower_ptr = np.zeros(n_firms + 1, np.int64)
    n_eligible = np.zeros(n_firms, np.int64)
    for f in range(n_firms):
        n_follow = 0
        n_free = 0
        for u in range(n_users):
            follow = follows[u, f]
            n_follow += follow
            n_free += not (follow or ads_hidden[u, f])
        follower_ptr[f + 1] = follower_ptr[f] + n_follow
        n_eligible[f] = n_free
    followers = np.empty(follower_ptr[-1] + 1, np.int32)  # + 1: the last firm's cursor writes one past its end
    for f in range(n_firms):  # in order: a firm's write past its end is overwritten by the next firm's first
        k = follower_ptr[f]
        for u in range(n_users):
            followers[k] = u
            k += follows[u, f]
    return follower_ptr, followers[:-1], n_eligible


def ad_targets(follows, ads_hidden, firm, positions, scratch=None):
    """The users at ``positions`` (in the same order) of firm ``firm``'s eligible users, listed in user order.

    ``rng.choice(eligible, k, replace=False)`` is ``eligible[rng.choice(len(eligible), k, replace=False)]``,
    so drawing positions and mapping them here gives the same targets without the list.
    ``scratch``: an int32 array of N entries, all -1 (and left so), that a
    model keeps across days; one is made if not given.
    """
    if scratch is None:
        scratch = np.full(follows.shape[0], -1, np.int32)
    return _ad_targets(follows, ads_hidden, firm, positions, scratch)


@njit(cache=True)
def _ad_targets(follows, ads_hidden, firm, positions, draw_of):
    """`ad_targets` in one pass over the users, with ``draw_of``: eligible rank -> index in ``positions``.

    No sort, as a broadcaster's ads may target most users every day, and no
    allocation of N entries per call, which costs page faults in large worlds.
    """
    k = positions.shape[0]
    out = np.empty(k, np.int32)
    for j in range(k):
        draw_of[positions[j]] = j
    found = 0
    rank = 0
    for u in range(follows.shape[0]):
        if found == k:
            break
        if follows[u, firm] or ads_hidden[u, firm]:
            continue
        j = draw_of[rank]
        if j >= 0:
            out[j] = u
            found += 1
        rank += 1
    for j in range(k):
        draw_of[positions[j]] = -1
    return out
