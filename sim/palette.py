"""One colour per firm, keyed by the firm's name, for every picture the project draws.

The browser demo, the run figures and the sweep figures all ask this module,
so a firm has the same colour everywhere: `broadcast` red, `dialogue` blue,
whatever their position in the scenario's list. Other names get a colour from
a fixed list, chosen from the name itself (CRC-32, stable across runs and
machines), moving on to the next free colour when two names in one world
would collide. Grey means "no firm" (follows none, tie, no value).
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Sequence

import numpy as np

NAMED = {"broadcast": "#d62728", "dialogue": "#1f77b4"}  # the spec's two presets
OTHERS = ("#2ca02c", "#ff7f0e", "#9467bd", "#e377c2", "#17becf", "#bcbd22", "#8c564b", "#393b79")
NONE = "#d9d9d9"  # no firm: follows none, tie, no value
MAX_DISTINCT = len(NAMED) + len(OTHERS)  # firms one world can show in distinct colours


def firm_colours(names: Iterable[str]) -> dict[str, str]:
    """{name: '#rrggbb'} for the firms of one world, in the order given.

    The colour of a name depends only on the set of names, not on their
    order: named firms first, then the others in sorted order, each taking
    its CRC-32 slot of `OTHERS` or the next free one (and, when all of
    `OTHERS` are taken, a named firm's colour that no firm here uses).
    """
    names = list(dict.fromkeys(names))
    chosen = {name: NAMED[name] for name in names if name in NAMED}
    used = set(chosen.values())
    for name in sorted(n for n in names if n not in NAMED):
        start = zlib.crc32(name.encode("utf-8")) % len(OTHERS)
        free = [*(OTHERS[(start + k) % len(OTHERS)] for k in range(len(OTHERS))), *NAMED.values()]
        colour = next((c for c in free if c not in used), OTHERS[start])  # more firms than colours: share
        chosen[name] = colour
        used.add(colour)
    return {name: chosen[name] for name in names}


def rgb(colour: str) -> np.ndarray:
    """'#rrggbb' as three floats 0-255."""
    return np.array([int(colour[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)


def hex_colour(values: Sequence[float]) -> str:
    """Three floats 0-255 as '#rrggbb'."""
    return "#" + "".join(f"{int(round(min(255.0, max(0.0, float(c))))):02x}" for c in values)


def mixed_colour(colours: Sequence[str]) -> str:
    """The colour of several firms at once (a user following them all): the mean of theirs; grey for none."""
    if not colours:
        return NONE
    return hex_colour(np.mean([rgb(c) for c in colours], axis=0))
