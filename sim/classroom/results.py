"""What a round produced, per firm, and the tables and pictures the pages show.

`round_results` reads a round's days from the model's own tidy table
(`MarketModel.firm_table`) and the unfollow causes `ClassroomMarket` counts.
`debrief_table` puts every round's strategies, platform rules and outcomes
side by side: the debrief page downloads it as CSV, and a replay of the log
must give the same table. Pictures are PNG bytes (matplotlib's Agg, Pillow).
"""

from __future__ import annotations

import io
import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image

from sim.classroom.adapter import UNFOLLOW_CAUSES
from sim.palette import NONE, firm_colours, rgb
from sim.viz.draw import PlotCanvas, Series, nice_ceiling

OUTCOMES = ("reach", "reach_total", "followers", "gained", "lost", *(f"lost_{c}" for c in UNFOLLOW_CAUSES),
            "trust", "spend", "reach_per_spend")  # fmt: skip
SCORES = {  # leaderboard: outcome -> heading
    "reach": "reach a day",
    "followers": "followers",
    "trust": "trust",
    "reach_per_spend": "reach per unit spent",
}
STRATEGY_KEYS = ("posts_per_day", "promo_share", "quality", "reply_rate", "delete_critics", "ads_per_day")
STRATEGY_LABELS = {"posts_per_day": "posts a day", "promo_share": "promo share", "quality": "quality",
                   "reply_rate": "reply rate", "delete_critics": "delete critics", "ads_per_day": "ads a day"}  # fmt: skip
MAP_CELL = 6  # pixels per user on the maps


def round_results(model, first_day: int, last_day: int) -> dict[str, dict[str, float | int | None]]:
    """{model firm name: outcomes} over days first_day..last_day (NaN ratios become None)."""
    table = model.firm_table()
    days = table[(table["step"] >= first_day) & (table["step"] <= last_day)]
    out = {}
    for firm in model.firms:
        rows = days[days["firm"] == firm.name]
        causes = model.unfollow_causes[first_day - 1 : last_day, firm.index].sum(axis=0)
        reach_total = int(rows["reach"].sum())
        spend = float(rows["spend"].sum())
        values = {
            "reach": float(rows["reach"].mean()),
            "reach_total": reach_total,
            "followers": int(rows["followers"].iloc[-1]),
            "gained": int(rows["new_follows"].sum()),
            "lost": int(rows["unfollows"].sum()),
            **{f"lost_{c}": int(n) for c, n in zip(UNFOLLOW_CAUSES, causes)},
            "trust": float(rows["trust_mean"].iloc[-1]),
            "spend": spend,
            "reach_per_spend": reach_total / spend if spend > 0 else None,
        }
        out[firm.name] = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in values.items()}
    return out


def debrief_table(rounds: Sequence[Mapping[str, Any]], names: Mapping[str, str]) -> pd.DataFrame:
    """One row per round and firm: strategy, platform rules and outcomes (the debrief's CSV).

    ``rounds``: round records as logged (``round``, ``firms``, ``levers``,
    ``results``); ``names``: model firm name -> the player's display name.
    """
    rows = []
    for record in rounds:
        for spec in record["firms"]:
            rows.append({
                "round": record["round"],
                "firm": names.get(spec["name"], spec["name"]),
                **{key: spec[key] for key in STRATEGY_KEYS},
                **{f"platform_{key}": record["levers"][key] for key in sorted(record["levers"])},
                **{key: record["results"][spec["name"]].get(key) for key in OUTCOMES},
            })  # fmt: skip
    table = pd.DataFrame(rows)
    for key in OUTCOMES:
        if key in table:
            table[key] = pd.to_numeric(table[key])
    return table


def leaderboard(results: Mapping[str, Mapping[str, Any]], names: Mapping[str, str], score: str) -> pd.DataFrame:
    """Firms ranked on ``score`` (best first), with every score as a column and a rank per score."""
    table = pd.DataFrame([{"firm": names.get(k, k), **{s: v.get(s) for s in SCORES}} for k, v in results.items()])
    for s in SCORES:
        table[s] = pd.to_numeric(table[s])
    table = table.sort_values([score, "firm"], ascending=[False, True], na_position="last", kind="stable")
    table.insert(0, "rank", np.arange(1, len(table) + 1))
    return table.reset_index(drop=True)


# --------------------------------------------------------------------------
# colours and pictures
# --------------------------------------------------------------------------


def colours_for(names: Sequence[str]) -> dict[str, str]:
    """A colour per firm: the project's palette up to its size, else matplotlib's 60 tab20 colours."""
    palette = firm_colours(names)
    if len(set(palette.values())) == len(names):
        return palette
    from matplotlib import colormaps

    tab = [c for cmap in ("tab20", "tab20b", "tab20c") for c in colormaps[cmap].colors]
    return {name: "#" + "".join(f"{int(round(x * 255)):02x}" for x in tab[k % len(tab)]) for k, name in enumerate(names)}


def _png(image: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(image).save(buffer, format="PNG")
    return buffer.getvalue()


@dataclass(frozen=True)
class MarketView:
    """What the pages draw of the market after a round: copies, which a running round cannot change."""

    day: int
    width: int
    height: int
    firms: tuple[str, ...]  # model firm names, in model order
    follows: np.ndarray  # (users, firms)
    trust: np.ndarray  # (users, firms)
    reach: np.ndarray  # (days, firms): daily reach so far

    @classmethod
    def of(cls, model) -> MarketView:
        table = model.firm_table()
        return cls(model.steps, model.p.width, model.p.height, tuple(f.name for f in model.firms),
                   model.users.follows.copy(), model.users.trust.copy(),
                   table["reach"].to_numpy(dtype=float).reshape(-1, len(model.firms)))  # fmt: skip


def favourite_firm(view: MarketView) -> np.ndarray:
    """Per user: the followed firm they trust most, or -1 if they follow none."""
    trust = np.where(view.follows, view.trust, -1.0)
    return np.where(view.follows.any(axis=1), trust.argmax(axis=1), -1)


def market_map_png(view: MarketView, colours: Mapping[str, str], only: int | None = None) -> bytes:
    """The grid, one square per user, coloured by the firm they follow (the most trusted of several).

    ``only``: a firm index: its followers in its colour, everyone else grey.
    """
    palette = np.array([rgb(colours[name]) for name in view.firms] + [rgb(NONE)], dtype=np.uint8)
    code = favourite_firm(view) if only is None else np.where(view.follows[:, only], only, -1)
    cells = palette[code].reshape(view.width, view.height, 3).transpose(1, 0, 2)  # rows are y
    return _png(np.repeat(np.repeat(cells, MAP_CELL, axis=0), MAP_CELL, axis=1))


def _figure(rows: int, cols: int, width: float, height: float) -> tuple[Figure, np.ndarray]:
    figure = Figure(figsize=(width, height), dpi=100, layout="constrained")
    FigureCanvasAgg(figure)
    axes = np.atleast_1d(figure.subplots(rows, cols, squeeze=False)).ravel()
    return figure, axes


def _save(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


def strategy_moves_png(table: pd.DataFrame, colours: Mapping[str, str]) -> bytes:
    """How each firm's strategy moved round to round: one panel per strategy field, a line per firm."""
    figure, axes = _figure(2, 3, 9.0, 4.6)
    for ax, key in zip(axes, STRATEGY_KEYS):
        for firm, rows in table.groupby("firm", sort=False):
            ax.plot(rows["round"], rows[key], marker="o", ms=4, lw=1.5, color=colours.get(firm, "#555555"), label=firm)
        ax.set_title(STRATEGY_LABELS[key], fontsize=10)
        ax.set_xlabel("round", fontsize=8)
        ax.tick_params(labelsize=8)
        if len(table):
            ax.set_xticks(sorted(table["round"].unique()))
    if 0 < table["firm"].nunique() <= 12:
        axes[0].legend(fontsize=7, loc="best")
    return _save(figure)


def debrief_png(table: pd.DataFrame, colours: Mapping[str, str], outcome: str = "reach") -> bytes:
    """Strategies against an outcome over all rounds: a panel per strategy field, a dot per firm and round."""
    figure, axes = _figure(2, 3, 10.0, 5.8)
    label = {"reach": "reach a day", **SCORES}.get(outcome, outcome)
    for ax, key in zip(axes, STRATEGY_KEYS):
        for firm, rows in table.groupby("firm", sort=False):
            ax.scatter(rows[key], rows[outcome], s=28, color=colours.get(firm, "#555555"), label=firm, alpha=0.85)
            for _, row in rows.iterrows():
                ax.annotate(str(int(row["round"])), (row[key], row[outcome]), fontsize=6, xytext=(3, 2),
                            textcoords="offset points")  # fmt: skip
        ax.set_xlabel(STRATEGY_LABELS[key], fontsize=9)
        ax.set_ylabel(label, fontsize=9)
        ax.tick_params(labelsize=8)
    if 0 < table["firm"].nunique() <= 12:
        axes[0].legend(fontsize=7, loc="best")
    figure.suptitle(f"Strategies against {label}, every firm and round (the small number is the round)", fontsize=11)
    return _save(figure)


class ReachPlots:
    """Each student's daily reach against the class median, drawn fast for a whole class.

    All students' plots of a round share their axes (the whole game's days,
    the highest reach of any firm), so the axes are rendered once per round
    and each student's lines are blitted on top (`sim.viz.draw.PlotCanvas`):
    a few milliseconds per student instead of a fresh matplotlib figure each.
    The legend is in the page's HTML. One canvas, so one drawing at a time.
    """

    def __init__(self, total_days: int, round_days: int):
        self.total_days, self.round_days = total_days, round_days
        self.canvas = PlotCanvas("users reached a day", width=5.2, height=2.4)
        self._lock = threading.Lock()

    def png(self, view: MarketView, index: int, colour: str) -> bytes:
        with self._lock:
            reach = view.reach
            ylim = (0.0, nice_ceiling(float(reach.max(initial=0.0)) * 1.05))
            days = np.arange(1, reach.shape[0] + 1)
            top = ylim[1]
            marks = [Series(np.array([d + 0.5, d + 0.5]), np.array([0.0, top]), "#dddddd", width=0.8)
                     for d in range(self.round_days, self.total_days, self.round_days)]  # fmt: skip
            lines = [Series(days, np.median(reach, axis=1), "#999999", width=1.2),
                     Series(days, reach[:, index], colour, width=1.8)]  # fmt: skip
            return self.canvas.png([*marks, *lines], days=self.total_days, ylim=ylim)
