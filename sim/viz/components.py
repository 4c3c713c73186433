"""Solara components of the browser demo: the map, four live plots and the explanation panel.

Each component takes the model (as SolaraViz passes it), subscribes to Mesa's
``update_counter`` so it redraws after every step, and memoises its picture
on (model, day) so that moving a slider does not redraw anything. The
pictures come from `sim.viz.draw`; the words about the model from
`sim.viz.demo`.
"""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import solara
from mesa.visualization.utils import update_counter

from sim.viz.draw import CHANNELS, MAP_MODES, PlotCanvas, Series, code_colour, map_png, model_colours
from sim.viz.demo import firm_rows, release, world_line

BOX = {"height": "380px", "overflow-y": "auto", "padding": "4px 8px"}  # one SolaraViz grid cell


def chip(colour: str, label: str, shape: str = "square") -> str:
    """A coloured legend mark and its label, as HTML."""
    radius = "50%" if shape == "dot" else "2px"
    return (f'<span style="white-space:nowrap;margin-right:10px"><span style="display:inline-block;width:12px;'
            f'height:12px;background:{colour};border:1px solid #555;border-radius:{radius};vertical-align:-1px;'
            f'margin-right:4px"></span>{html.escape(label)}</span>')


def title(text: str, legend: str = "") -> None:
    solara.HTML(tag="div", unsafe_innerHTML=f"<b>{html.escape(text)}</b><br><small>{legend}</small>")


def firm_legend(model) -> str:
    return "".join(chip(colour, f.name) for f, colour in zip(model.firms, model_colours(model), strict=True))


# --------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------


def map_legend(model, mode: str, firm: int) -> str:
    """What the colours mean in this mode, with today's counts."""
    names, colours = [f.name for f in model.firms], model_colours(model)
    if mode in ("trust", "fatigue"):
        ramp = f"linear-gradient(to right, #ffffff, {colours[firm]})"
        return (f'<div>{mode} in <b>{html.escape(names[firm])}</b></div><div style="width:150px;height:12px;'
                f'background:{ramp};border:1px solid #555"></div><div style="width:150px;display:flex;'
                f'justify-content:space-between"><small>0</small><small>1</small></div>')
    layer = "follows" if mode == "follows" else "reached"
    bits = sum(model.grid._mesa_property_layers[f"{layer}_{n}"].data.astype(np.int64) << k for k, n in enumerate(names))
    counts = np.bincount(bits.ravel(), minlength=1 << len(names))
    verb = "follows" if mode == "follows" else "reached today by"
    lines = [f"<div>{verb}</div>"]
    if len(names) == 2:
        entries = [(1, f"{names[0]} only"), (2, f"{names[1]} only"), (3, "both"), (0, "neither")]
        lines += [f"<div>{chip(code_colour(colours, c), f'{label}: {counts[c]:,}')}</div>" for c, label in entries]
    else:
        lines += [f"<div>{chip(colours[k], f'{n} only: {counts[1 << k]:,}')}</div>" for k, n in enumerate(names)]
        several = sum(int(n) for code, n in enumerate(counts) if bin(code).count("1") >= 2)
        lines += [f"<div>{chip(code_colour(colours, (1 << len(names)) - 1), f'several (mixed colour): {several:,}')}</div>",
                  f"<div>{chip(code_colour(colours, 0), f'none: {counts[0]:,}')}</div>"]
    lines.append(f"<div style='margin-top:6px'>{chip('#ffffff', 'ringed dot: a firm home', 'dot')}</div>")
    return "".join(lines)


@solara.component
def FollowMap(model):
    """The grid, one cell per user, coloured by follows (or trust, fatigue, reached today); homes marked."""
    update_counter.get()
    # SolaraViz's reset swaps the model; dropping the old one from Mesa's class-level registry
    # (and the last one when the browser session ends) keeps memory flat over a long lesson.
    solara.use_effect(lambda: (lambda: release(model)), [model])
    mode, set_mode = solara.use_state(MAP_MODES[0])
    firm, set_firm = solara.use_state(0)
    firm = min(firm, len(model.firms) - 1)
    png = solara.use_memo(lambda: map_png(model, mode, firm), [model, model.steps, mode, firm])
    with solara.Column(style=BOX, gap="4px"):
        title(f"Users on the grid, day {model.steps}", "each square is one user; colour: what the buttons choose")
        solara.ToggleButtonsSingle(value=mode, values=list(MAP_MODES), on_value=set_mode, dense=True)
        if mode in ("trust", "fatigue"):
            names = [f.name for f in model.firms]
            solara.ToggleButtonsSingle(value=names[firm], values=names, dense=True,
                                       on_value=lambda name: set_firm(names.index(name)))
        with solara.Row(gap="12px"):
            solara.Image(png, format="png", classes=["follow-map"])
            solara.HTML(tag="div", unsafe_innerHTML=map_legend(model, mode, firm))


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def _per_firm(model, column: str, style: str = "-") -> list[Series]:
    table = model.history()
    out = []
    for f, colour in zip(model.firms, model_colours(model), strict=True):
        rows = table[table["firm"] == f.name]
        out.append(Series(rows["step"].to_numpy(), rows[column].to_numpy(dtype=float), colour, style))
    return out


def _today(model, column: str, fmt: str = "{:,.0f}") -> str:
    values = [fmt.format(f.today.get(column, float("nan"))) for f in model.firms]
    return " · ".join(f"{f.name} {v}" for f, v in zip(model.firms, values, strict=True))


@solara.component
def LinePlot(model, heading: str, legend: str, ylabel: str, series_of, caption_of, ylim=None, key: str = "",
             chooser: tuple | None = None, height: float = 2.5):
    """A plot that redraws once per day: ``series_of(model)`` gives the lines, ``caption_of(model)`` the text below.

    ``chooser``: optional (value, values, on_value) of toggle buttons shown above the plot;
    ``height``: of the plot in inches (100 pixels each), so that everything fits in its grid cell.
    """
    update_counter.get()
    canvas = solara.use_memo(lambda: PlotCanvas(ylabel, height=height), [])
    png = solara.use_memo(lambda: canvas.png(series_of(model), model.p.steps, ylim), [model, model.steps, key])
    with solara.Column(style=BOX, gap="2px"):
        title(heading, legend)
        if chooser is not None:
            value, values, on_value = chooser
            solara.ToggleButtonsSingle(value=value, values=values, on_value=on_value, dense=True)
        solara.Image(png, format="png", classes=["plot"])
        caption = caption_of(model) if model.steps else "day 0: nothing has happened yet"
        solara.HTML(tag="div", unsafe_innerHTML=f"<small class='plot-caption'>{html.escape(caption)}</small>")


TREND_DAYS = 14  # the spec's window for the crossover day


def _trend(series: Series) -> Series:
    """The trailing mean over TREND_DAYS days (fewer on the first days), drawn bold."""
    trend = pd.Series(series.y).rolling(TREND_DAYS, min_periods=1).mean().to_numpy()
    return Series(series.x, trend, series.colour, width=2.4)


def _faint(series: Series) -> Series:
    return Series(series.x, series.y, series.colour, width=0.8, alpha=0.35)


@solara.component
def ReachPlot(model):
    """Daily reach per firm (faint) and its 14-day trailing mean (bold)."""
    LinePlot(
        model, "Daily reach: users who saw the firm that day",
        firm_legend(model) + f"<br>faint: each day · bold: mean of the last {TREND_DAYS} days",
        "users reached",
        lambda m: [_faint(s) for s in _per_firm(m, "reach")] + [_trend(s) for s in _per_firm(m, "reach")],
        lambda m: f"day {m.steps}: " + _today(m, "reach") + f"; {TREND_DAYS}-day mean: " + " · ".join(
            f"{f.name} {_trend(s).y[-1]:,.0f}" for f, s in zip(m.firms, _per_firm(m, "reach"), strict=True)),
    )


@solara.component
def FollowersPlot(model):
    """Followers per firm."""
    LinePlot(model, "Followers", firm_legend(model), "followers",
             lambda m: _per_firm(m, "followers"), lambda m: f"day {m.steps}: " + _today(m, "followers"))


@solara.component
def TrustFatiguePlot(model):
    """Mean trust of all users (solid) and mean fatigue of followers (dashed), per firm."""
    legend = firm_legend(model) + "<br>solid: mean trust of all users · dashed: mean fatigue of followers"
    LinePlot(
        model, "Trust and fatigue", legend, "0 = none, 1 = full",
        lambda m: _per_firm(m, "trust_mean") + _per_firm(m, "fatigue_followers", "--"),
        lambda m: f"day {m.steps}: trust " + _today(m, "trust_mean", "{:.2f}")
        + "; fatigue " + _today(m, "fatigue_followers", "{:.2f}"),
        ylim=(0.0, 1.0),
    )


@solara.component
def ChannelPlot(model):
    """One firm's daily reach split by channel: its own posts, ads, shares by users, replies."""
    names = [f.name for f in model.firms]
    chosen, set_chosen = solara.use_state(names[0])
    if chosen not in names:
        chosen = names[0]

    def series_of(m):
        rows = m.history()
        rows = rows[rows["firm"] == chosen]
        return [Series(rows["step"].to_numpy(), rows[col].to_numpy(dtype=float), colour) for col, _, colour in CHANNELS]

    def caption_of(m):
        today = m.firms[names.index(chosen)].today
        return f"day {m.steps}: {chosen} reached via " + " · ".join(
            f"{label} {today.get(col, 0):,.0f}" for col, label, _ in CHANNELS)

    LinePlot(model, f"Reach by channel: how {chosen} reaches users",
             "".join(chip(colour, label) for _, label, colour in CHANNELS), "users reached",
             series_of, caption_of, key=chosen, chooser=(chosen, names, set_chosen), height=2.2)


# --------------------------------------------------------------------------
# Explanation
# --------------------------------------------------------------------------


def explanation_html(model) -> str:
    """The explanation panel's text, with this world's numbers, firm names and colours."""
    p, names = model.p, [f.name for f in model.firms]
    palette = model_colours(model)
    colours = " ".join(chip(c, f"follows {n}") for n, c in zip(names, palette, strict=True))
    colours += chip(code_colour(palette, (1 << len(names)) - 1), "follows " + ("both" if len(names) == 2 else "several"))
    colours += chip(code_colour(palette, 0), "follows none")
    return f"""
<p><b>The question.</b> Firms enter a social network where people have limited attention. A
<i>broadcast</i> strategy pushes: many promotional posts, paid ads, no replies, critical comments
deleted. A <i>dialogue</i> strategy talks: a useful post a day, and it answers comments. Which one
reaches more people, and under which conditions?</p>
<p><b>What a cell is.</b> Each small square on the map is one user. Every day a user reads about
{p.attention_mean:g} items out of everything in their feed: posts of the ~{p.pages_followed:g} other
pages they follow, posts of the firms they follow, ads, and what their neighbours and friends shared.
Whatever does not fit is never seen.</p>
<p><b>Colours.</b> {colours} The ringed dots are the firms' home towns. The buttons above the map
shade it by trust, by fatigue (being fed up with a firm) or by who saw a firm today instead.</p>
<p><b>Try first.</b> Press &#9654; and watch the reach plot: who leads in the first weeks, who leads
later? Then move <i>Pages a user follows</i> (now {p.pages_followed:g}) to 10 or to 300, press
<i>Reset</i> and &#9654; again. To get through a year faster, raise <i>Render Interval</i>: the page
then redraws every few days.</p>
"""


@solara.component
def Explanation(model):
    """Plain words: the question, what a cell is, the colours, what to try; plus the running world and firms."""
    update_counter.get()
    rows = firm_rows(model)
    header = "".join(f"<th style='text-align:left;padding-right:8px'>{html.escape(k)}</th>" for k in rows[0])
    body = "".join(
        "<tr>" + "".join(f"<td style='padding-right:8px'>{html.escape(str(v))}</td>" for v in row.values()) + "</tr>"
        for row in rows
    )
    with solara.Column(style=BOX, gap="2px"):
        solara.HTML(tag="div", unsafe_innerHTML="<b>How to read this page</b>" + explanation_html(model))
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"<p class='world-line'><b>This world:</b> {html.escape(world_line(model))}</p>"
            f"<table style='font-size:90%'><tr>{header}</tr>{body}</table>"
            "<p><small>Sliders and menus on the left take effect when you press <i>Reset</i>. Choosing another "
            "preset for a firm gives it that preset's strategy; the sliders you moved still override it.</small></p>"
        ))
