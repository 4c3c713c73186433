"""Pictures for the browser demo: the follower map and the line plots, as PNG bytes.

Pure functions of a model (no Solara here), so the benchmark can time them
and tests can check them. The map is painted straight from the grid's
PropertyLayers with numpy and Pillow (about 2 ms); the plots use
matplotlib's Agg backend, one figure kept per plot whose axes are rendered
once and whose lines are blitted on top each day (about 5 ms instead of
50-90 ms for a fresh figure; see docs/viz.md).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from PIL import Image, ImageDraw

from sim.palette import NONE as NOBODY  # a user who follows (or was reached by) no firm
from sim.palette import firm_colours, mixed_colour, rgb

CHANNELS = (  # firm-table column, label, colour
    ("organic_reach", "own posts", "#4d4d4d"),
    ("paid_reach", "ads", "#e6ab02"),
    ("earned_reach", "shares", "#1b9e77"),
    ("reply_reach", "replies", "#7570b3"),
)
MAP_MODES = ("follows", "trust", "fatigue", "reached today")
MAP_PIXELS = 300  # the map is about this many pixels wide


def model_colours(model) -> list[str]:
    """Each firm's colour from the shared palette (keyed by name), in the model's firm order."""
    return list(firm_colours([f.name for f in model.firms]).values())


def code_colour(colours: Sequence[str], code: int) -> str:
    """The colour of a follow pattern (bit k set: follows firm k): grey, one firm's own, or their mean."""
    return mixed_colour([c for k, c in enumerate(colours) if code >> k & 1])


# --------------------------------------------------------------------------
# The map
# --------------------------------------------------------------------------


def map_colours(model, mode: str, firm: int = 0) -> np.ndarray:
    """RGB (uint8) per cell, shape (width, height, 3), indexed [x, y] like the grid's layers.

    follows / reached today: one colour per firm, a mixed colour for several,
    grey for none. trust / fatigue: white (0) to the chosen firm's colour (1).
    """
    layers = model.grid._mesa_property_layers
    names = [f.name for f in model.firms]
    colours = model_colours(model)
    if mode in ("follows", "reached today"):
        prefix = "follows_" if mode == "follows" else "reached_"
        bits = np.zeros(layers[prefix + names[0]].data.shape, dtype=np.int64)
        for k, name in enumerate(names):
            bits |= layers[prefix + name].data.astype(np.int64) << k
        palette = np.array([rgb(code_colour(colours, code)) for code in range(1 << len(names))])
        return palette[bits].astype(np.uint8)
    if mode not in ("trust", "fatigue"):
        raise ValueError(f"map mode must be one of {', '.join(MAP_MODES)} (got {mode!r})")
    value = np.clip(layers[f"{mode}_{names[firm]}"].data, 0.0, 1.0)[..., None]
    white = np.full(3, 255.0)
    return (white * (1.0 - value) + rgb(colours[firm]) * value).astype(np.uint8)


def map_png(model, mode: str = "follows", firm: int = 0) -> bytes:
    """The grid as a PNG, x to the right and y up, with each firm's home cell marked by a ringed dot."""
    colours = map_colours(model, mode, firm)
    width, height = colours.shape[:2]
    scale = max(1, MAP_PIXELS // max(width, height))
    rows = np.flipud(colours.transpose(1, 0, 2))  # row 0 is the top: y = height - 1
    image = Image.fromarray(np.ascontiguousarray(rows)).resize((width * scale, height * scale), Image.NEAREST)
    draw = ImageDraw.Draw(image)
    radius = max(5, 1.5 * scale)
    colours = model_colours(model)
    for f in model.firms:
        x, y = f.home
        cx, cy = (x + 0.5) * scale, (height - 1 - y + 0.5) * scale
        draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius],
                     fill=colours[f.index], outline="black", width=2)
        draw.ellipse([cx - radius + 2, cy - radius + 2, cx + radius - 2, cy + radius - 2], outline="white", width=1)
    out = io.BytesIO()
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


# --------------------------------------------------------------------------
# Line plots
# --------------------------------------------------------------------------


@dataclass
class Series:
    """One line of a plot."""

    x: np.ndarray
    y: np.ndarray
    colour: str
    style: str = "-"
    width: float = 1.6
    alpha: float = 1.0


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten that is >= value (at least 1)."""
    if not np.isfinite(value) or value <= 1.0:
        return 1.0
    power = 10.0 ** np.floor(np.log10(value))
    return float(next(m * power for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * power >= value))


class PlotCanvas:
    """A small matplotlib figure kept alive between days, redrawn by blitting.

    The x axis spans the whole run (day 0 to the last day) and the y axis
    only grows, to round numbers, so the axes, ticks and grid are rendered
    once and kept as a bitmap; each day only the lines are drawn on top of
    that bitmap and the result is encoded as PNG. Titles and legends are
    drawn by the page in HTML: text is most of matplotlib's rendering time.
    """

    def __init__(self, ylabel: str, width: float = 4.6, height: float = 2.5, dpi: int = 100):
        self.figure = Figure(figsize=(width, height), dpi=dpi)
        self.canvas = FigureCanvasAgg(self.figure)
        # margins in inches, so that tick labels fit whatever the figure's height
        self.figure.subplots_adjust(left=0.7 / width, right=1 - 0.12 / width, top=1 - 0.1 / height, bottom=0.48 / height)
        self.axes = self.figure.add_subplot()
        self.axes.set_xlabel("day")
        self.axes.set_ylabel(ylabel)
        self.axes.grid(True, color="#eeeeee")
        self._placeholder = self.axes.text(0.5, 0.5, "press Step or Play", ha="center", va="center",
                                           transform=self.axes.transAxes, color="#888888")
        self._lines: list = []
        self._background = None
        self._background_key: tuple | None = None
        self.background_draws = 0  # how often the axes were rendered in full (for tests and the benchmark)

    def png(self, series: Sequence[Series], days: int, ylim: tuple[float, float] | None = None) -> bytes:
        """Draw ``series`` on axes spanning days 0..``days``; return the figure as PNG bytes."""
        has_data = any(len(s.x) for s in series)
        if ylim is None:
            top = max((float(np.nanmax(s.y)) for s in series if np.isfinite(s.y).any()), default=0.0)
            ylim = (0.0, nice_ceiling(top * 1.05))
        key = (days, tuple(ylim), has_data)
        if key != self._background_key:
            self._render_background(days, ylim, has_data)
            self._background_key = key
        else:
            self.canvas.restore_region(self._background)
        while len(self._lines) < len(series):
            self._lines.append(self.axes.plot([], [], animated=True)[0])
        for line, s in zip(self._lines, series):
            line.set_data(s.x, s.y)
            line.set_color(s.colour)
            line.set_linestyle(s.style)
            line.set_linewidth(s.width)
            line.set_alpha(s.alpha)
            line.set_visible(True)
            self.axes.draw_artist(line)
        for line in self._lines[len(series):]:
            line.set_visible(False)
        image = Image.frombuffer("RGBA", self.canvas.get_width_height(), self.canvas.buffer_rgba(), "raw", "RGBA", 0, 1)
        out = io.BytesIO()
        image.save(out, format="PNG", compress_level=1)
        return out.getvalue()

    def _render_background(self, days: int, ylim: tuple[float, float], has_data: bool) -> None:
        self.axes.set_xlim(0, max(1, days))
        self.axes.set_ylim(*ylim)
        self._placeholder.set_visible(not has_data)
        self.canvas.draw()  # animated lines are left out of a full draw
        self._background = self.canvas.copy_from_bbox(self.figure.bbox)
        self.background_draws += 1
