"""HTML fragments of the game's pages: tables and chips, every name escaped, every number with its raw value.

Each number is shown rounded and carried exactly in a ``data-value``
attribute, so the browser test compares the page with a replay of the log
without rounding. Pure functions: no Solara here.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from sim.classroom.adapter import CAUSE_LABELS, UNFOLLOW_CAUSES
from sim.classroom.results import SCORES, STRATEGY_KEYS, STRATEGY_LABELS

FORMATS = {"reach": "{:,.1f}", "reach_total": "{:,.0f}", "followers": "{:,.0f}", "gained": "{:,.0f}",
           "lost": "{:,.0f}", "trust": "{:.3f}", "spend": "{:,.1f}", "reach_per_spend": "{:,.2f}"}  # fmt: skip


def shown(value: Any, key: str = "") -> str:
    """A number as the page shows it ('-' for none)."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if isinstance(value, str):
        return html.escape(value)
    return FORMATS.get(key, "{:g}").format(value)


def cell(value: Any, key: str, tag: str = "td") -> str:
    raw = "" if value is None or (isinstance(value, float) and math.isnan(value)) else repr(value)
    return f'<{tag} class="{key}" data-value="{html.escape(raw)}">{shown(value, key)}</{tag}>'


def chip(colour: str, text: str) -> str:
    return (f'<span class="chip"><span class="swatch" style="background:{html.escape(colour)}"></span>'
            f"{html.escape(text)}</span>")  # fmt: skip


def leaderboard_html(table: pd.DataFrame, score: str, change: Mapping[str, float | None], colours: Mapping[str, str],
                     previous_round: int | None) -> str:  # fmt: skip
    """The ranked table; ``change``: each firm's change in ``score`` since the previous round."""
    heads = "".join(f"<th>{html.escape(label)}{' ▼' if key == score else ''}</th>" for key, label in SCORES.items())
    delta_head = f"<th>change since round {previous_round}</th>" if previous_round else ""
    rows = []
    for _, row in table.iterrows():
        firm = row["firm"]
        cells = "".join(cell(None if pd.isna(row[k]) else float(row[k]) if k != "followers" else int(row[k]), k)
                        for k in SCORES)  # fmt: skip
        delta = ""
        if previous_round:
            d = change.get(firm)
            delta = f'<td class="change">{"-" if d is None else ("+" if d > 0 else "") + shown(d, score)}</td>'
        rows.append(f'<tr data-firm="{html.escape(firm)}"><td>{int(row["rank"])}</td>'
                    f'<td class="firm">{chip(colours.get(firm, "#555"), firm)}</td>{cells}{delta}</tr>')  # fmt: skip
    return (f'<table class="leaderboard game-table"><tr><th>#</th><th>firm</th>{heads}{delta_head}</tr>'
            f'{"".join(rows)}</table>')  # fmt: skip


def own_results_html(outcome: Mapping[str, Any], round_number: int) -> str:
    """A student's results of one round: reach, followers gained and lost and why, trust, spend."""
    causes = "".join(
        f'<li class="cause-{c}">{cell(outcome.get(f"lost_{c}"), f"lost_{c}", "span")} '
        f"{html.escape(CAUSE_LABELS[c])}</li>"
        for c in UNFOLLOW_CAUSES
    )
    rows = [
        ("reach", "users reached a day (mean over the round)"),
        ("followers", "followers at the end of the round"),
        ("gained", "new followers"),
        ("lost", "followers lost"),
        ("trust", "trust in your firm (mean over all users, 0 to 1)"),
        ("spend", "money spent in the round"),
        ("reach_per_spend", "users reached per unit spent"),
    ]
    body = "".join(f"<tr><th>{html.escape(label)}</th>{cell(outcome.get(key), key)}</tr>" for key, label in rows)
    return (f'<div class="own-results"><b>Your results in round {round_number}</b>'
            f'<table class="game-table">{body}</table>'
            f'<div>Why followers left:</div><ul class="causes">{causes}</ul></div>')  # fmt: skip


def own_history_html(rounds: Sequence[Mapping[str, Any]], firm: str) -> str:
    """A student's own strategy and outcomes, round by round."""
    heads = "".join(f"<th>{html.escape(STRATEGY_LABELS[k])}</th>" for k in STRATEGY_KEYS)
    outs = ("reach", "followers", "trust", "spend", "reach_per_spend")
    heads += "".join(f"<th>{html.escape(SCORES.get(k, k))}</th>" for k in outs)
    rows = []
    for record in rounds:
        spec = next(s for s in record["firms"] if s["name"] == firm)
        result = record["results"][firm]
        rows.append(f"<tr><td>{record['round']}</td>" + "".join(cell(spec[k], k) for k in STRATEGY_KEYS)
                    + "".join(cell(result.get(k), k) for k in outs) + "</tr>")  # fmt: skip
    return f'<table class="own-history game-table"><tr><th>round</th>{heads}</tr>{"".join(rows)}</table>'


def debrief_html(table: pd.DataFrame) -> str:
    """The debrief table (the CSV's main columns)."""
    keys = ["round", "firm", *STRATEGY_KEYS, *[c for c in table.columns if c.startswith("platform_")],
            "reach", "followers", "gained", "lost", "trust", "spend", "reach_per_spend"]  # fmt: skip
    keys = [k for k in keys if k in table.columns]
    heads = "".join(f"<th>{html.escape(STRATEGY_LABELS.get(k, k.replace('platform_', '').replace('_', ' ')))}</th>"
                    for k in keys)  # fmt: skip
    rows = []
    for record in table.to_dict("records"):
        rows.append("<tr>" + "".join(cell(_plain(record[k]), k) for k in keys) + "</tr>")
    return f'<table class="debrief game-table"><tr>{heads}</tr>{"".join(rows)}</table>'


def _plain(value: Any) -> Any:
    """numpy scalars as Python numbers (their repr is what the CSV holds)."""
    return value.item() if hasattr(value, "item") else value
