"""One market day for every user in one compiled pass (MARKET_SPEC.md, "One day: what changes").

With background pages (``market.pages`` > 0) every followed page's posts
are real candidates: about 55 a user a day. Materialising them all would
cost gigabytes at a million users, so `user_day` walks the users one at a
time and does, for each, what the spec's day does to that user alone:

1. candidates: its followed pages' posts of today (from its follow edges)
   and the rows of the day's feed that are its own (the firms' posts, ads
   and replies, and every share its contacts passed on, of any page);
2. attention: each item's weight (trust, social proof, the page's quality
   factor Q and the source-diversity factor D), its key, and one joint
   ranking with the friends' posts, whose largest keys are drawn in order;
3. reactions to background pages' items it saw (the firms' items are only
   marked seen: the model's part-1 phases answer those);
4. its follow edges: load, fatigue, trust, unfollows (by cause); follows
   of pages it liked without following them.

Every draw comes from the model's numpy Generator, inside the kernel, in a
fixed order per user, so a seed gives one result. The spec's formulas are
the small functions of `sim.model.mechanics`.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from sim.model.mechanics import (
    POST, PROMO, SHARE, candidate_weight, drifted_trust, follow_probability, react, reaction_probabilities,
    unfollow_probability, updated_fatigue, updated_trust,
)  # fmt: skip
from sim.model.pages import pick_by_popularity

# positions in the `par` array of `user_day`
PARAMETERS = (
    "chronological", "source_diversity", "friend_posts", "weight_friend", "appeal_promo", "appeal_value",
    "share_boost", "share_annoy", "comment_prob", "neg_comment_prob", "annoy_base", "trust0", "trust_start",
    "fatigue_decay", "fatigue_gain", "tolerance", "trust_pos", "trust_neg", "trust_drift", "follow_prob",
    "unfollow_threshold", "unfollow_neg_prob",
)  # fmt: skip
(CHRONO, DIVERSITY, FRIENDS, W_FRIEND, APPEAL_PROMO, APPEAL_VALUE, SHARE_BOOST, SHARE_ANNOY, COMMENT, NEG_COMMENT,
 ANNOY_BASE, TRUST0, TRUST_START, DECAY, GAIN, TOLERANCE, T_POS, T_NEG, DRIFT, FOLLOW, THRESHOLD,
 UNFOLLOW_NEG) = range(len(PARAMETERS))  # fmt: skip

# columns of the per-page day counters (`counts`, shape (pages, PAGE_COUNTS))
PAGE_COUNTS = ("impressions", "positives", "negatives", "organic_reach", "follows_reaction",
               "unfollows_fatigue", "unfollows_negative", "follows_discovery", "comments", "negative_comments")  # fmt: skip
(IMPRESSIONS, POSITIVES, NEGATIVES, ORGANIC, FOLLOW_REACTION, UNFOLLOW_FATIGUE, UNFOLLOW_NEGATIVE, FOLLOW_DISCOVERY,
 COMMENTS, NEG_COMMENTS) = range(len(PAGE_COUNTS))  # fmt: skip
# per-user columns of `user_counts`: what a user was offered and read today
USER_COUNTS = ("page_items", "friend_posts", "page_items_seen", "friend_posts_seen", "firm_items", "firm_items_seen")
# codes of the event log
EVENT_NAMES = ("comment", "negative_comment", "reply", "deletion", "follow", "unfollow")
CAUSE_NAMES = ("", "fatigue", "negative_reaction", "deleted_comment", "reaction", "discovery")


@njit(cache=True)
def _friend_step(rng, key, remaining):
    """The next largest of ``remaining`` iid uniforms' logs, below ``key`` (the order statistics, in logs)."""
    return key + np.log(1.0 - rng.random()) / remaining


@njit(cache=True)
def user_day(
    n_firms, attention, trust_flat,  # users and the firms' part-1 trust
    e_start, e_length, e_capacity, e_page, e_trust, e_fatigue,  # follow edges
    post_ptr, post_item, post_kind,  # background pages' posts today (CSR by background page)
    feed_ptr, feed_order, f_page, f_channel, f_kind, f_item, f_social,  # the day's feed, grouped by user
    quality, q_factor, type_weight, load_table, annoy, share_prob, par, rng,
    seen_feed, counts, followers, user_counts, item_seen, item_likes, item_comments, item_direct_seen,
    item_direct_positive, edge_of, events, record_events, day, trace, last_unfollow,
):
    """Run one market day over every user (see the module docstring). Returns (wishes, pending, n_events).

    ``wishes``: (user, item, direct) of every positive reaction to a
    background page's item that wants a share (the model keeps the first per
    user and item); ``pending``: (user, page) follows that did not fit in
    the user's row (`FollowEdges.grow` adds them); ``events``: the event log
    rows (day, user, page, event, cause) written from ``n_events`` on.
    ``edge_of`` (pages long, -1) is scratch and left as it came.
    ``trace``: when it has rows, one row per candidate of the day is written
    into it (user, page, channel, source-diversity rank k - 1, seen), for
    the tests of the spec's checks and for viewers; size it with
    `candidate_count`.
    """
    n_users = attention.shape[0]
    chrono = par[CHRONO] > 0.5
    diversity = par[DIVERSITY]
    # per-user scratch, sized for the largest user
    most = 0
    for i in range(n_users):
        m = feed_ptr[i + 1] - feed_ptr[i]
        s = e_start[i]
        for e in range(s, s + e_length[i]):
            b = e_page[e]
            m += post_ptr[b + 1] - post_ptr[b]
        most = max(most, m)
    c_page = np.empty(most, np.int64)
    c_edge = np.empty(most, np.int64)
    c_channel = np.empty(most, np.int8)
    c_kind = np.empty(most, np.int8)
    c_item = np.empty(most, np.int64)
    c_social = np.empty(most, np.int64)
    c_row = np.empty(most, np.int64)
    c_key = np.empty(most)
    c_order = np.empty(most)
    c_seen = np.zeros(most, np.bool_)
    c_rank = np.zeros(most, np.int64)
    n_trace = 0
    width = 8
    for i in range(n_users):
        width = max(width, e_capacity[i])
    t_load = np.zeros(width)
    t_pos = np.zeros(width)
    t_neg = np.zeros(width)
    t_post = np.zeros(width, np.bool_)
    liked = np.empty(most, np.int64)  # pages a non-follower liked today
    wish_user = np.empty(16, np.int64)
    wish_item = np.empty(16, np.int64)
    wish_direct = np.empty(16, np.bool_)
    n_wish = 0
    pend_user = np.empty(16, np.int64)
    pend_page = np.empty(16, np.int64)
    n_pend = 0
    n_events = 0
    for i in range(n_users):
        s, length = e_start[i], e_length[i]
        for j in range(length):
            edge_of[n_firms + e_page[s + j]] = s + j
        # 1. candidates
        m = 0
        for j in range(length):
            b = e_page[s + j]
            for q in range(post_ptr[b], post_ptr[b + 1]):
                c_page[m], c_edge[m], c_channel[m], c_kind[m] = n_firms + b, s + j, POST, post_kind[q]
                c_item[m], c_social[m], c_row[m] = post_item[q], 0, -1
                m += 1
        n_firm_items = 0
        for r in range(feed_ptr[i], feed_ptr[i + 1]):
            row = feed_order[r]
            pg = f_page[row]
            c_page[m], c_channel[m], c_kind[m], c_item[m] = pg, f_channel[row], f_kind[row], f_item[row]
            c_edge[m] = edge_of[pg] if pg >= n_firms else -1
            c_social[m], c_row[m] = f_social[row], row
            n_firm_items += pg < n_firms
            m += 1
        n_friends = rng.poisson(par[FRIENDS]) if par[FRIENDS] > 0 else 0
        budget = attention[i]
        # 2. attention: one joint ranking of page items and friends' posts
        for c in range(m):
            c_seen[c] = False
            c_rank[c] = 0
        friends_read = 0
        if m + n_friends <= budget:
            for c in range(m):
                c_seen[c] = True
            friends_read = n_friends
        else:
            for c in range(m):
                if chrono:
                    w = 1.0
                else:
                    pg = c_page[c]
                    if pg < n_firms:
                        t = trust_flat[i * n_firms + pg]
                    elif c_edge[c] >= 0:
                        t = e_trust[c_edge[c]]
                    else:
                        t = par[TRUST0]
                    w = type_weight[c_channel[c], c_kind[c]] * (1.0 + t) * q_factor[pg]
                    if c_social[c] > 0:  # the social-proof factor 1 + ln(1 + s) is 1 without sharers
                        w = candidate_weight(type_weight[c_channel[c], c_kind[c]], t, c_social[c]) * q_factor[pg]
                c_key[c] = w
            if diversity < 1.0 and not chrono:  # the k-th item of one page today weighs diversity^(k-1)
                for c in range(m):
                    c_order[c] = c_page[c] + rng.random()  # by page, then in a random order
                by_page = np.argsort(c_order[:m])
                k = 0
                for r in range(m):
                    c = by_page[r]
                    k = k + 1 if r > 0 and c_page[by_page[r - 1]] == c_page[c] else 0
                    c_rank[c] = k
                    if k > 0:
                        c_key[c] *= diversity**k
            for c in range(m):  # minus the log key, so that an ascending sort puts the largest keys first
                c_key[c] = -np.log(1.0 - rng.random()) / c_key[c]
            order = np.argsort(c_key[:m], kind="mergesort")
            w_friend = 1.0 if chrono else par[W_FRIEND]
            f_key = _friend_step(rng, 0.0, n_friends) if n_friends > 0 else 0.0
            taken, pi = 0, 0
            while taken < budget and (pi < m or friends_read < n_friends):
                if pi < m and (friends_read >= n_friends or -c_key[order[pi]] > f_key / w_friend):
                    c_seen[order[pi]] = True
                    pi += 1
                else:
                    friends_read += 1
                    if friends_read < n_friends:
                        f_key = _friend_step(rng, f_key, n_friends - friends_read)
                taken += 1
        if trace.shape[0] > 0:
            for c in range(m):
                trace[n_trace, 0], trace[n_trace, 1], trace[n_trace, 2] = i, c_page[c], c_channel[c]
                trace[n_trace, 3], trace[n_trace, 4] = c_rank[c], c_seen[c]
                n_trace += 1
        # 3. reactions to background pages' items; the firms' items are only marked seen
        for j in range(length):
            t_load[j], t_pos[j], t_neg[j], t_post[j] = 0.0, 0.0, 0.0, False
        n_liked = 0
        n_seen = 0
        n_firm_seen = 0
        for c in range(m):
            if not c_seen[c]:
                continue
            n_seen += 1
            pg = c_page[c]
            if pg < n_firms:
                seen_feed[c_row[c]] = True
                n_firm_seen += 1
                continue
            b = pg - n_firms
            e, ch, kd, it = c_edge[c], c_channel[c], c_kind[c], c_item[c]
            appeal = par[APPEAL_PROMO] if kd == PROMO else par[APPEAL_VALUE] * quality[b]
            annoyance = annoy[kd]
            if ch == SHARE:
                appeal, annoyance = appeal * par[SHARE_BOOST], annoyance * par[SHARE_ANNOY]
            t, fat = (e_trust[e], e_fatigue[e]) if e >= 0 else (par[TRUST0], 0.0)
            p_pos, p_neg = reaction_probabilities(appeal, annoyance, t, fat, par[ANNOY_BASE])
            pos, neg = react(p_pos, p_neg, rng.random())
            u_talk = rng.random() if pos or neg else 1.0  # the comment and share draws only when they can matter
            u_share = rng.random() if pos else 1.0
            comment = pos and u_talk < par[COMMENT]
            critic = neg and u_talk < par[NEG_COMMENT]
            counts[pg, IMPRESSIONS] += 1
            counts[pg, POSITIVES] += pos
            counts[pg, NEGATIVES] += neg
            counts[pg, COMMENTS] += comment
            counts[pg, NEG_COMMENTS] += critic
            item_seen[it] += 1
            item_likes[it] += pos
            item_comments[it] += comment
            item_direct_seen[it] += ch == POST
            item_direct_positive[it] += ch == POST and pos
            if record_events and (comment or critic):
                n_events = _event(events, n_events, day, i, pg, 0 if comment else 1, 0)
            if pos and u_share < share_prob[kd]:
                if n_wish == wish_user.shape[0]:
                    wish_user, wish_item, wish_direct = _grow3(wish_user, wish_item, wish_direct)
                wish_user[n_wish], wish_item[n_wish], wish_direct[n_wish] = i, it, ch == POST
                n_wish += 1
            if e >= 0:
                j = e - s
                t_load[j] += load_table[ch, kd]
                t_pos[j] += pos
                t_neg[j] += neg
                t_post[j] = t_post[j] or ch == POST
            elif pos:
                known = False
                for q in range(n_liked):
                    known = known or liked[q] == b
                if not known:
                    liked[n_liked] = b
                    n_liked += 1
        user_counts[i, 0] = m - n_firm_items
        user_counts[i, 1] = n_friends
        user_counts[i, 2] = n_seen - n_firm_seen
        user_counts[i, 3] = friends_read
        user_counts[i, 4] = n_firm_items
        user_counts[i, 5] = n_firm_seen
        # 4. the user's follow edges, from the last so that a removal moves an edge already done
        for j in range(length):
            edge_of[n_firms + e_page[s + j]] = -1
        for j in range(length - 1, -1, -1):
            e = s + j
            b = e_page[e]
            if t_load[j] > 0 or t_pos[j] > 0 or t_neg[j] > 0 or t_post[j]:
                fat = updated_fatigue(e_fatigue[e], t_load[j], 0.0, par[DECAY], par[GAIN], par[TOLERANCE], 0.0)
                t = e_trust[e]
                if t_pos[j] > 0 or t_neg[j] > 0:  # `updated_trust` costs four powers: only when it moves trust
                    t = updated_trust(t, t_pos[j], 0.0, t_neg[j], 0.0, par[T_POS], 0.0, par[T_NEG], 0.0)
                counts[n_firms + b, ORGANIC] += t_post[j]
            else:
                fat = e_fatigue[e] * (1.0 - par[DECAY])
                t = e_trust[e]
            t = drifted_trust(t, par[TRUST0], par[DRIFT])
            cause = 0
            if fat > par[THRESHOLD]:
                cause = 1
            elif t_neg[j] > 0 and rng.random() < unfollow_probability(t_neg[j], 0.0, par[UNFOLLOW_NEG], 0.0):
                cause = 2
            if cause == 0:
                e_fatigue[e], e_trust[e] = fat, t
                continue
            last = s + e_length[i] - 1
            e_page[e], e_trust[e], e_fatigue[e] = e_page[last], e_trust[last], e_fatigue[last]
            e_page[last] = -1
            e_length[i] -= 1
            followers[b] -= 1
            last_unfollow[i] = day
            counts[n_firms + b, UNFOLLOW_FATIGUE if cause == 1 else UNFOLLOW_NEGATIVE] += 1
            if record_events:
                n_events = _event(events, n_events, day, i, n_firms + b, 5, cause)
        for q in range(n_liked):  # follows: one draw per page and day (the user did not follow it at dawn)
            b = liked[q]
            if rng.random() < follow_probability(par[TRUST0], par[FOLLOW]):
                pend_user, pend_page, n_pend = _follow(i, b, par[TRUST_START], e_start, e_length, e_capacity, e_page,
                                                       e_trust, e_fatigue, pend_user, pend_page, n_pend)  # fmt: skip
                followers[b] += 1
                counts[n_firms + b, FOLLOW_REACTION] += 1
                if record_events:
                    n_events = _event(events, n_events, day, i, n_firms + b, 4, 4)
    return (wish_user[:n_wish], wish_item[:n_wish], wish_direct[:n_wish]), (pend_user[:n_pend], pend_page[:n_pend]), n_events


@njit(cache=True)
def candidate_count(feed_ptr, e_start, e_length, e_page, post_ptr):
    """The day's candidates of all users: feed rows plus their followed pages' posts (the trace's rows)."""
    n = feed_ptr[-1]
    for i in range(e_length.shape[0]):
        for e in range(e_start[i], e_start[i] + e_length[i]):
            n += post_ptr[e_page[e] + 1] - post_ptr[e_page[e]]
    return n


@njit(cache=True)
def _event(events, n, day, user, page, code, cause):
    """Write one event-log row if there is room (the model sizes the log for the day's upper bound)."""
    if n < events.shape[0]:
        events[n, 0], events[n, 1], events[n, 2], events[n, 3], events[n, 4] = day, user, page, code, cause
    return n + 1


@njit(cache=True)
def _follow(i, b, trust_start, e_start, e_length, e_capacity, e_page, e_trust, e_fatigue, pend_user, pend_page,
            n_pend):
    """User i follows page b: a new edge in its row, or, if the row is full, a pending follow (grown after the day)."""
    if e_length[i] < e_capacity[i]:
        e = e_start[i] + e_length[i]
        e_page[e], e_trust[e], e_fatigue[e] = b, trust_start, 0.0
        e_length[i] += 1
        return pend_user, pend_page, n_pend
    if n_pend == pend_user.shape[0]:
        pend_user, pend_page, _ = _grow3(pend_user, pend_page, np.zeros(n_pend, np.bool_))
    pend_user[n_pend], pend_page[n_pend] = i, b
    return pend_user, pend_page, n_pend + 1


@njit(cache=True)
def _grow3(a, b, c):
    n = a.shape[0]
    a2, b2, c2 = np.empty(2 * n, a.dtype), np.empty(2 * n, b.dtype), np.empty(2 * n, c.dtype)
    a2[:n], b2[:n], c2[:n] = a, b, c
    return a2, b2, c2


@njit(cache=True)
def discover(rate, cumulative, e_start, e_length, e_capacity, e_page, e_trust, e_fatigue, trust_start,
             followers, counts, n_firms, pend_user, pend_page, rng, events, n_events, record_events, day):
    """Discovery, after every other update of the day: each user, with chance ``rate``, follows one page by popularity.

    Returns the follows that did not fit (user, page): ``pend_*`` and any new ones.
    """
    n_pend = pend_user.shape[0]
    out_user = np.empty(n_pend + 16, np.int64)
    out_page = np.empty(n_pend + 16, np.int64)
    out_user[:n_pend], out_page[:n_pend] = pend_user, pend_page
    for i in range(e_length.shape[0]):
        if rng.random() >= rate:
            continue
        b = pick_by_popularity(cumulative, rng.random())
        s = e_start[i]
        known = False
        for e in range(s, s + e_length[i]):
            known = known or e_page[e] == b
        for q in range(n_pend):
            known = known or (out_user[q] == i and out_page[q] == b)
        if known:
            continue
        out_user, out_page, n_pend = _follow(i, b, trust_start, e_start, e_length, e_capacity, e_page, e_trust,
                                             e_fatigue, out_user, out_page, n_pend)  # fmt: skip
        followers[b] += 1
        counts[n_firms + b, FOLLOW_DISCOVERY] += 1
        if record_events:
            n_events = _event(events, n_events, day, i, n_firms + b, 4, 5)
    return out_user[:n_pend], out_page[:n_pend], n_events


@njit(cache=True)
def group_by_user(user, n_users):
    """CSR of the feed's rows by user (stable: each user's rows in feed order)."""
    ptr = np.zeros(n_users + 1, np.int64)
    for c in range(user.shape[0]):
        ptr[user[c] + 1] += 1
    for i in range(n_users):
        ptr[i + 1] += ptr[i]
    fill = ptr[:-1].copy()
    order = np.empty(user.shape[0], np.int64)
    for c in range(user.shape[0]):
        order[fill[user[c]]] = c
        fill[user[c]] += 1
    return ptr, order
