"""The day's hot loops, compiled with numba (nopython, cached) over flat arrays.

Each kernel does one phase's per-item or per-pair work in one pass that numpy
would need many temporary arrays and calls for. Kernels draw no random
numbers: the model draws them beforehand with its own numpy Generator, in
bulk, and passes them in. So a seed gives the same numbers in any process,
and models interleaved in one process never share a random stream. (numba
can draw from a numpy Generator passed in, with the same numbers, but typing
and unboxing the Generator costs tens of microseconds per call, and its
Poisson sampler ran 1.6 times slower than numpy's here.)

Pairs are flat (user, firm) indices ``user * n_firms + firm``, as in
`Population.flat`. The spec's formulas are not written here: the kernels call
the small named functions of `sim.model.mechanics`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model.mechanics import (
    PAID, REPLY_CHANNEL, SHARE, candidate_weight, drifted_trust, follow_probability, react,
    reaction_probabilities, unfollow_probability, updated_fatigue, updated_trust,
)
from sim.model.outputs import FIRM_COLUMNS

# -- attention -----------------------------------------------------------------


@njit(cache=True)
def candidate_weights(type_weight, trust_flat, user, firm, channel, kind, social, n_firms):
    """The ranking weight of every candidate (`mechanics.candidate_weight`)."""
    n = user.shape[0]
    out = np.empty(n, np.float64)
    for c in range(n):
        pair = np.int64(user[c]) * n_firms + firm[c]
        out[c] = candidate_weight(type_weight[channel[c], kind[c]], trust_flat[pair], social[c])
    return out


def distinct_users(user, n_users, mark=None):
    """The distinct users among the candidates, in order of first appearance.

    ``mark``: N booleans, all False (and left so), that a model reuses; made if not given.
    """
    if mark is None:
        mark = np.zeros(n_users, np.bool_)
    return _distinct_users(user, mark)


@njit(cache=True)
def _distinct_users(user, mark):
    out = np.empty(user.shape[0], np.int32)
    k = 0
    for c in range(user.shape[0]):
        u = user[c]
        if not mark[u]:
            mark[u] = True
            out[k] = u
            k += 1
    for j in range(k):
        mark[out[j]] = False
    return out[:k]


# -- reactions -------------------------------------------------------------------


@njit(cache=True)
def reactions(firm, kind, channel, pair, trust_flat, fatigue_flat, appeal, annoy, share_prob,
              share_boost, share_annoy, comment_prob, neg_comment_prob, u_react, u_talk, u_share, annoy_base=0.0):
    """Per seen item: positive, negative, positive comment, negative comment, wants to share.

    Three uniforms per item: the reaction, the comment, the share.
    ``annoy_base``: MARKET_SPEC.md's baseline annoyance (0: part 1).
    """
    n = firm.shape[0]
    positive = np.empty(n, np.bool_)
    negative = np.empty(n, np.bool_)
    comment = np.empty(n, np.bool_)
    critic = np.empty(n, np.bool_)
    wants_share = np.empty(n, np.bool_)
    for c in range(n):
        k = kind[c]
        a, b = appeal[firm[c], k], annoy[k]
        if channel[c] == SHARE:
            a, b = a * share_boost, b * share_annoy
        p_pos, p_neg = reaction_probabilities(a, b, trust_flat[pair[c]], fatigue_flat[pair[c]], annoy_base)
        pos, neg = react(p_pos, p_neg, u_react[c])
        positive[c], negative[c] = pos, neg
        comment[c] = pos and u_talk[c] < comment_prob
        critic[c] = neg and u_talk[c] < neg_comment_prob
        wants_share[c] = pos and u_share[c] < share_prob[k]
    return positive, negative, comment, critic, wants_share


# -- the day's per-pair tallies and the state update ---------------------------------


def tally_pairs(pair, channel, kind, positive, negative, deleted, answers_critic, load_table, slot, rows=None):
    """Sum each seen item into its pair's tallies; returns (touched pairs in first-seen order, tallies).

    ``slot`` (N * F, int32) is -1 for every pair on entry; a touched pair's
    entry becomes its row in the returned (touched, 8) tallies, whose columns
    are: load, positives, seen replies, negatives, deletions, replies to a
    critic, negative reactions to ads, and the bits of the channels the pair
    saw something on. `update_state` sets the touched entries back to -1. The
    tallies are as long as the day's seen items, not the N * F pairs, so a
    day never writes to (or faults in) memory of untouched pairs.
    ``rows``: an (at least n, 8) float64 array the tallies are written to
    (rows are cleared as pairs are first touched), which a model reuses;
    made if not given.
    """
    if rows is None or rows.shape[0] < pair.shape[0]:
        rows = np.empty((pair.shape[0], 8))
    return _tally_pairs(pair, channel, kind, positive, negative, deleted, answers_critic, load_table, slot, rows)


@njit(cache=True)
def _tally_pairs(pair, channel, kind, positive, negative, deleted, answers_critic, load_table, slot, tally):
    n = pair.shape[0]
    touched = np.empty(n, np.int64)
    k = 0
    for c in range(n):
        p = pair[c]
        ch = channel[c]
        s = slot[p]
        if s < 0:
            s = k
            touched[k] = p
            slot[p] = k
            tally[k, :] = 0.0
            k += 1
        tally[s, 7] = float(int(tally[s, 7]) | (1 << ch))
        tally[s, 0] += load_table[ch, kind[c]]
        tally[s, 1] += positive[c]
        tally[s, 3] += negative[c]
        tally[s, 4] += deleted[c]
        if ch == REPLY_CHANNEL:
            tally[s, 2] += 1.0
            tally[s, 5] += answers_critic[c]
        if ch == PAID and negative[c]:
            tally[s, 6] = 1.0
    return touched[:k], tally[:k]


@njit(cache=True)
def update_state(tally, slot, u_follow, u_unfollow, follows, trust, fatigue, ads_hidden, days_reached,
                 n_firms, par, counts):
    """One pass over every pair: fatigue, trust, follows, unfollows, hidden ads, per-firm tallies.

    ``par``: fatigue_decay, fatigue_gain, tolerance, reply_relief, trust_pos,
    trust_reply, trust_neg, trust_deleted, trust0, trust_drift, follow_prob,
    unfollow_threshold, unfollow_neg_prob, unfollow_deleted_prob.
    ``u_follow``/``u_unfollow``: a uniform per touched pair. ``counts`` (10, F)
    receives: reach, organic/paid/earned/reply reach, newly reached, reached a
    second time, followers, trust sum of followers, fatigue sum of followers;
    the trust sum over everyone in row 10, and users who newly hid the
    firm's ads in row 11.
    ``tally`` and ``slot``: as `tally_pairs` leaves them (row ``slot[p]`` of
    ``tally`` for a touched pair p, -1 otherwise); the slots are reset to -1.
    Returns (joiners, leaving, cause) as pair indices, and each leaving
    pair's unfollow cause (MARKET_SPEC.md: the first that applies, in the
    order fatigue 0, negative reaction 1, deleted comment 2). The one
    uniform of a pair decides the cause too: below the chance that a
    negative reaction's draws succeed it is 1, else 2 (the same draw, so
    part 1's stream is unchanged).
    """
    decay, gain, tolerance, relief = par[0], par[1], par[2], par[3]
    t_pos, t_reply, t_neg, t_del, trust0, drift = par[4], par[5], par[6], par[7], par[8], par[9]
    follow_prob, threshold, p_neg_leave, p_del_leave = par[10], par[11], par[12], par[13]
    n_pairs = follows.shape[0]
    joiners = np.empty(tally.shape[0], np.int64)
    n_join = 0
    leaving = np.empty(n_pairs, np.int64)
    cause = np.empty(n_pairs, np.int8)
    n_leave = 0
    why = 0
    f = n_firms - 1
    for p in range(n_pairs):
        f = 0 if f == n_firms - 1 else f + 1  # p % n_firms, without a division per pair
        followed = follows[p]
        t = trust[p]
        s = slot[p]
        if s >= 0:
            n_pos, n_reply, n_neg, n_del = tally[s, 1], tally[s, 2], tally[s, 3], tally[s, 4]
            bits = int(tally[s, 7])
            fatigue[p] = updated_fatigue(fatigue[p], tally[s, 0], tally[s, 5], decay, gain, tolerance, relief)
            t = updated_trust(t, n_pos, n_reply, n_neg, n_del, t_pos, t_reply, t_neg, t_del)
            t = drifted_trust(t, trust0, drift)
            leave = followed and fatigue[p] > threshold
            why = 0
            if followed and n_neg + n_del > 0 and not leave:
                leave = u_unfollow[s] < unfollow_probability(n_neg, n_del, p_neg_leave, p_del_leave)
                why = 1 if u_unfollow[s] < unfollow_probability(n_neg, 0.0, p_neg_leave, p_del_leave) else 2
            if not followed and n_pos > 0 and u_follow[s] < follow_probability(t, follow_prob):
                joiners[n_join] = p
                n_join += 1
                follows[p] = True
            if not followed and tally[s, 6] > 0:
                if not ads_hidden[p]:
                    counts[11, f] += 1
                ads_hidden[p] = True
            days_reached[p] += 1
            counts[0, f] += 1
            for ch in range(4):
                if bits & (1 << ch):
                    counts[1 + ch, f] += 1
            if days_reached[p] == 1:
                counts[5, f] += 1
            elif days_reached[p] == 2:
                counts[6, f] += 1
            slot[p] = -1
        else:
            fatigue[p] *= 1.0 - decay
            t = drifted_trust(t, trust0, drift)
            leave = followed and fatigue[p] > threshold
            why = 0
        trust[p] = t
        if leave:
            leaving[n_leave] = p
            cause[n_leave] = why
            n_leave += 1
            follows[p] = False
        if follows[p]:
            counts[7, f] += 1
            counts[8, f] += t
            counts[9, f] += fatigue[p]
        counts[10, f] += t
    return joiners[:n_join], leaving[:n_leave].copy(), cause[:n_leave].copy()


# -- records ---------------------------------------------------------------------------


FIRM_DAY_COLUMNS = FIRM_COLUMNS[2:]  # the rows of `firm_day`, in this order
FIRM_DAY_RATIOS = ("attention_loss", "trust_mean", "trust_followers", "fatigue_followers", "spend",
                   "cost_per_reach", "second_contact_rate", "commenter_trust_change_answered",
                   "commenter_trust_change_unanswered")  # the rest are counts


@njit(cache=True, error_model="numpy")
def firm_day(seen_firm, positive, comment, critic, shared, answered, deleted, feed_firm, joiners, leaving,
             counts, spend, ever_reached, reached_twice, n_users):
    """The firms' outputs of the day, one row per `FIRM_DAY_COLUMNS` entry and a column per firm.

    ``counts``: as `update_state` fills it; ``ever_reached``/``reached_twice``:
    per firm, users reached at least once / at least twice so far. Ratios
    with a zero denominator: attention loss and second-contact rate 0, cost
    per reach and the followers' means NaN.
    """
    n_firms = spend.shape[0]
    out = np.zeros((len(FIRM_DAY_COLUMNS), n_firms))
    for c in range(seen_firm.shape[0]):
        f = seen_firm[c]
        out[5, f] += 1
        out[8, f] += positive[c]
        out[9, f] += comment[c]
        out[10, f] += critic[c]
        out[11, f] += shared[c]
        out[12, f] += answered[c]
        out[13, f] += deleted[c]
    for c in range(feed_firm.shape[0]):
        out[6, feed_firm[c]] += 1
    for j in range(joiners.shape[0]):
        out[15, joiners[j] % n_firms] += 1
    for j in range(leaving.shape[0]):
        out[16, leaving[j] % n_firms] += 1
    for f in range(n_firms):
        out[0, f] = counts[0, f]
        for ch in range(4):
            out[1 + ch, f] = counts[1 + ch, f]
        delivered, impressions, reach, followers = out[6, f], out[5, f], counts[0, f], counts[7, f]
        out[7, f] = 1.0 - impressions / delivered if delivered > 0 else 0.0
        out[14, f] = followers
        out[17, f] = counts[10, f] / n_users
        out[18, f] = counts[8, f] / followers
        out[19, f] = counts[9, f] / followers
        out[20, f] = spend[f]
        out[21, f] = spend[f] / reach if reach > 0 else np.nan
        out[22, f] = ever_reached[f]
        out[23, f] = reached_twice[f] / ever_reached[f] if ever_reached[f] > 0 else 0.0
    return out


def attention_totals(feed_user, seen_user, background, attention, offered=None, took=None):
    """Platform sums: candidates, seen, background, attention used, users overloaded.

    ``offered``, ``took``: N int32 counters, all 0 (and left so), that a model reuses; made if not given.
    """
    if offered is None or took is None:
        offered, took = np.zeros(attention.shape[0], np.int32), np.zeros(attention.shape[0], np.int32)
    return _attention_totals(feed_user, seen_user, background, attention, offered, took)


@njit(cache=True)
def _attention_totals(feed_user, seen_user, background, attention, offered, took):
    n_users = attention.shape[0]
    for c in range(feed_user.shape[0]):
        offered[feed_user[c]] += 1
    for c in range(seen_user.shape[0]):
        took[seen_user[c]] += 1
    used = 0
    bg_sum = 0
    overloaded = 0
    for u in range(n_users):
        used += took[u] + min(background[u], attention[u] - took[u])
        bg_sum += background[u]
        if background[u] + offered[u] > attention[u]:
            overloaded += 1
    for c in range(feed_user.shape[0]):
        offered[feed_user[c]] = 0
    for c in range(seen_user.shape[0]):
        took[seen_user[c]] = 0
    return feed_user.shape[0], seen_user.shape[0], bg_sum, used, overloaded


@njit(cache=True)
def follow_totals(follows, edge_length, last_unfollow, since):
    """Users following any firm (or, with edges, any background page); users whose last unfollow is after ``since``.

    Branch-free sums over the users (the part-1 world has no edges: ``edge_length`` is empty).
    """
    n_users, n_firms = follows.shape
    flat = follows.reshape(-1).view(np.uint8)
    has_edges = edge_length.shape[0] > 0
    following = 0
    unfollowed = 0
    for u in range(n_users):
        any_page = np.uint8(0)
        for f in range(n_firms):
            any_page |= flat[u * n_firms + f]
        if has_edges:
            any_page |= np.uint8(edge_length[u] > 0)
        following += any_page
        unfollowed += last_unfollow[u] > since
    return following, unfollowed


@njit(cache=True)
def count_follow_changes(joined, left, firms_followed, last_unfollow, last_unfollow_days, day):
    """Apply a day's follows and unfollows (users, one entry per firm) to the per-user counts; returns the change
    in users following any firm. ``last_unfollow_days[d]`` counts the users whose last unfollow was on day d."""
    change = 0
    for k in range(joined.shape[0]):
        u = joined[k]
        change += firms_followed[u] == 0
        firms_followed[u] += 1
    for k in range(left.shape[0]):
        u = left[k]
        firms_followed[u] -= 1
        change -= firms_followed[u] == 0
        if last_unfollow[u] != day:
            if last_unfollow[u] >= 0:
                last_unfollow_days[last_unfollow[u]] -= 1
            last_unfollow_days[day] += 1
            last_unfollow[u] = day
    return change


@njit(cache=True)
def distinct_commenters(pairs, answered, trust_flat, slot):
    """Each commenting (user, firm) pair once, answered if any of its comments was, and its trust now.

    ``slot`` (N * F, all -1, and left so) is `update_state`'s scratch, free between days' updates.
    """
    out = np.empty(pairs.shape[0], np.int64)
    any_answered = np.zeros(pairs.shape[0], np.bool_)
    k = 0
    for c in range(pairs.shape[0]):
        p = pairs[c]
        if slot[p] < 0:
            slot[p] = k
            out[k] = p
            k += 1
        any_answered[slot[p]] = any_answered[slot[p]] or answered[c]
    trust = np.empty(k)
    for j in range(k):
        slot[out[j]] = -1
        trust[j] = trust_flat[out[j]]
    return out[:k], any_answered[:k], trust


@njit(cache=True, error_model="numpy")
def trust_change(pairs, answered, before, trust_flat, n_firms):
    """(2, F): mean trust now minus ``before`` over the pairs, answered (row 0) and not (row 1); NaN if none."""
    total = np.zeros((2, n_firms))
    count = np.zeros((2, n_firms))
    for j in range(pairs.shape[0]):
        row = 0 if answered[j] else 1
        f = pairs[j] % n_firms
        total[row, f] += trust_flat[pairs[j]] - before[j]
        count[row, f] += 1
    out = np.full((2, n_firms), np.nan)
    for row in range(2):
        for f in range(n_firms):
            if count[row, f] > 0:
                out[row, f] = total[row, f] / count[row, f]
    return out


# -- shares ----------------------------------------------------------------------------


@njit(cache=True)
def spread_merged(sharers, items, indptr, indices, n_users):
    """Every reader of every sharer, merged per (item, reader) with the number of sharers.

    Returns (reader, item, social proof), sorted by item, then reader.
    """
    total = 0
    for s in range(sharers.shape[0]):
        total += indptr[sharers[s] + 1] - indptr[sharers[s]]
    keys = np.empty(total, np.int64)
    k = 0
    for s in range(sharers.shape[0]):
        j = sharers[s]
        for q in range(indptr[j], indptr[j + 1]):
            keys[k] = np.int64(items[s]) * n_users + indices[q]
            k += 1
    keys.sort()
    reader = np.empty(total, np.int32)
    item = np.empty(total, np.int32)
    social = np.empty(total, np.int32)
    m = -1
    for q in range(total):
        if q == 0 or keys[q] != keys[q - 1]:
            m += 1
            item[m] = keys[q] // n_users
            reader[m] = keys[q] % n_users
            social[m] = 0
        social[m] += 1
    return reader[: m + 1], item[: m + 1], social[: m + 1]
