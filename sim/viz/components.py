"""Solara components of the browser demo: the map, four live plots and the explanation panel.

A market scenario adds the market view's two feed panels (`page_components`
chooses the list).

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

from sim.viz.demo import firm_rows, market_line, pages_phrase, release, world_line
from sim.viz.draw import CHANNELS, MAP_MODES, PlotCanvas, Series, code_colour, map_png, model_colours
from sim.viz.feed import ALL_COLOUR, SOURCES, composition_today, is_market, lever_line

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
# The market view: the feed's composition (page market only)
# --------------------------------------------------------------------------

BAR_PIXELS = 300  # the "offered" bar's width; the "read" bar is drawn to the same scale


def _bar(today: dict, part: str, scale: float) -> str:
    """One stacked bar, a segment per source, ``scale`` pixels per item (a non-empty segment at least 2 px)."""
    segments = []
    for key, label, colour in SOURCES:
        value = today[f"{key}_{part}"]
        width = max(2.0, value * scale) if value > 0 else 0.0
        segments.append(f'<span title="{html.escape(label)}: {value:.1f}" style="display:inline-block;height:14px;'
                        f'width:{width:.1f}px;background:{colour}"></span>')
    return f'<span class="feed-bar feed-bar-{part}" style="display:inline-flex">{"".join(segments)}</span>'


def feed_today_html(model) -> str:
    """Today's feed per user: offered and read by source, as two bars to one scale and a table."""
    today = composition_today(model)
    offered = sum(today[f"{key}_delivered"] for key, _, _ in SOURCES)
    scale = BAR_PIXELS / offered if offered else 0.0
    rows = []
    for key, label, colour in SOURCES:
        given, read = today[f"{key}_delivered"], today[f"{key}_seen"]
        share = f"{read / given:.0%}" if given else "–"
        rows.append(f"<tr class='feed-row' data-source='{key}'><td>{chip(colour, label)}</td>"
                    f"<td>{given:,.2f}</td><td>{read:,.2f}</td><td>{share}</td></tr>")
    read = sum(today[f"{key}_seen"] for key, _, _ in SOURCES)
    shown = f"{today['shown_share']:.0%}" if offered else "–"
    rows.append(f"<tr class='feed-row' data-source='all'><td>{chip(ALL_COLOUR, 'all')}</td><td>{offered:,.2f}</td>"
                f"<td>{read:,.2f}</td><td><b>{shown}</b></td></tr>")
    head = "".join(f"<th style='text-align:left;padding-right:10px'>{h}</th>"
                   for h in ("source", "offered", "read", "read share"))
    caption = (f"day {model.steps}: {offered:,.1f} items offered a user, {read:,.1f} read (shown share {shown})"
               if model.steps else "day 0: nothing has happened yet")
    return (
        f"<div style='display:grid;grid-template-columns:60px auto;row-gap:3px;align-items:center;margin:4px 0'>"
        f"<small>offered</small>{_bar(today, 'delivered', scale)}<small>read</small>{_bar(today, 'seen', scale)}</div>"
        f"<table class='feed-table' style='font-size:90%'><tr>{head}</tr>{''.join(rows)}</table>"
        f"<small class='feed-caption'>{html.escape(caption)}</small>"
    )


@solara.component
def FeedToday(model):
    """The feed's composition today: friends' posts, pages' items, firms' items, offered and read; the levers."""
    update_counter.get()
    with solara.Column(style=BOX, gap="2px", classes=["feed-today"]):
        if not is_market(model):
            solara.HTML(tag="div", unsafe_innerHTML="<small>No page market in this world (market.pages is 0).</small>")
            return
        title(f"The feed today, day {model.steps}",
              "offered and read, per user (mean); one scale for both bars")
        solara.HTML(tag="div", unsafe_innerHTML=feed_today_html(model))
        levers = html.escape(lever_line(model.p)).replace("Feed levers:", "<b>Feed levers:</b>", 1)
        solara.HTML(tag="div", unsafe_innerHTML=(
            f"<p class='lever-line' style='margin:4px 0 0;line-height:1.25'><small>{levers}</small></p>"
            f"<p class='market-line' style='margin:0;line-height:1.25'><small><b>Market:</b> {html.escape(pages_phrase(model))}."
            "</small></p>"
        ))


def read_share_series(model) -> list[Series]:
    """Per source, items read over items offered each day (0 where none was offered); then all sources (dashed)."""
    table = model.feed_history()
    x = table["step"].to_numpy()
    out = []
    for key, _, colour in SOURCES:
        given, read = table[f"{key}_delivered"].to_numpy(float), table[f"{key}_seen"].to_numpy(float)
        out.append(Series(x, np.divide(read, given, out=np.zeros_like(read), where=given > 0), colour))
    out.append(Series(x, table["shown_share"].to_numpy(float), ALL_COLOUR, "--"))
    return out


@solara.component
def FeedHistory(model):
    """Day by day, the share of offered items that were read, per source and for the whole feed (the shown share)."""
    if not is_market(model):
        return
    legend = ("".join(chip(colour, label) for _, label, colour in SOURCES) + chip(ALL_COLOUR, "all: the shown share")
              + f"<br>faint: each day · bold: mean of the last {TREND_DAYS} days")

    def series_of(m):
        shares = read_share_series(m)
        return [_faint(s) for s in shares[:-1]] + [_trend(s) for s in shares[:-1]] + [_trend(shares[-1])]

    def caption_of(m):
        labels = [label for _, label, _ in SOURCES] + ["all"]
        return f"day {m.steps}: read share " + " · ".join(
            f"{label} {s.y[-1]:.0%}" for label, s in zip(labels, read_share_series(m), strict=True))

    LinePlot(model, "Read share: of the items offered, the share read", legend, "read / offered",
             series_of, caption_of, ylim=(0.0, 1.0), height=2.2)


def page_components(scenario) -> list:
    """The page's components in SolaraViz's order (two a row): a market scenario adds the feed panels."""
    if scenario.market.pages > 0:
        return [FollowMap, FeedToday, ReachPlot, FeedHistory, Explanation, FollowersPlot, TrustFatiguePlot, ChannelPlot]
    return [FollowMap, ReachPlot, Explanation, FollowersPlot, TrustFatiguePlot, ChannelPlot]


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
{_market_paragraph(model)}<p><b>Try first.</b> Press &#9654; and watch the reach plot: who leads in the first weeks, who leads
later? Then move <i>Pages a user follows</i> (now {p.pages_followed:g}) to 10 or to 300, press
<i>Reset</i> and &#9654; again. To get through a year faster, raise <i>Render Interval</i>: the page
then redraws every few days.</p>
"""


def _market_paragraph(model) -> str:
    """The page market in a few sentences (empty outside the market)."""
    if not is_market(model):
        return ""
    return f"""<p><b>The page market.</b> Here the pages a user follows are real pages: they post, compete with
friends' posts and the firms' items in one ranked feed, tire their followers and lose them.
{html.escape(market_line(model))} <i>The feed today</i> shows what a user was offered and read, by
source; <i>Read share</i> how that changes day by day. The <i>Feed lever</i> sliders are the
platform's rules: fewer items in a row from one page (source diversity), demoting pages whose posts
draw little engagement (quality ranking) or many complaints (complaint ranking), a lower weight for
promotional posts, and annoyance even for rested users. They act on the firms' items too.</p>
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
