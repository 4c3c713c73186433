"""Figures of a sweep: Sobol' bars, the Morris mu*-sigma plane, grid heatmaps and winner maps.

Grid maps use the grid's own values as evenly spaced cells (ticks show the
values). Colour bars that change sign are symmetric about zero (white) and
carry the output's unit; cells without a value are grey with a legend entry
saying why; cell labels switch to white on dark colours. The tie contour (late-reach gap = 0) is drawn by linear
interpolation between neighbouring grid points, which is the same curve in
value coordinates. With a third parameter, one panel per value; further
parameters are averaged over, and the title says so.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.ticker  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LinearSegmentedColormap, ListedColormap, Normalize, to_rgb  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.palette import NONE as NONE_COLOUR  # noqa: E402
from sim.palette import firm_colours  # noqa: E402
from sim.runs.statistics import METRIC_INFO  # noqa: E402
from sim.sweep.analysis import Analysis, OutputAnalysis, sample_means  # noqa: E402

ANNOTATE_MAX = 12  # write the value in each cell up to this many cells a side


def write_figures(analysis: Analysis, folder: Path) -> dict[str, Path]:
    """Every figure the sweep's method calls for; returns {name: path}."""
    folder.mkdir(parents=True, exist_ok=True)
    method, made = analysis.sweep["method"], {}
    for found in analysis.outputs:
        name = found.output
        if method == "grid":
            path = folder / f"grid_{_safe(name)}.png"
            gap = _gap_table(analysis)
            if found.kind == "float":
                made[f"grid_{name}"] = grid_map(analysis, found, path, gap if name == "late_reach_gap" else None)
            else:
                made[f"grid_{name}"] = winner_map(analysis, found, path, gap)
        elif found.table is not None and method == "sobol":
            made[f"sobol_{name}"] = sobol_bars(found, folder / f"sobol_{_safe(name)}.png")
        elif found.table is not None and method == "morris":
            made[f"morris_{name}"] = morris_plane(found, folder / f"morris_{_safe(name)}.png")
        elif found.table is not None and method == "lhs":
            made[f"lhs_{name}"] = scatter_panels(analysis, found, folder / f"lhs_{_safe(name)}.png")
    return made


# -- indices ---------------------------------------------------------------------


def sobol_bars(found: OutputAnalysis, path: Path) -> Path:
    table = found.table.sort_values("ST", ascending=False)
    x = np.arange(len(table))
    fig, ax = plt.subplots(figsize=(max(6.0, 0.7 * len(table) + 2), 4.2))
    ax.bar(x - 0.2, table["S1"], 0.4, yerr=table["S1_conf"], capsize=3, label="first order S1", color="#7570b3")
    ax.bar(x + 0.2, table["ST"], 0.4, yerr=table["ST_conf"], capsize=3, label="total ST", color="#d95f02")
    ax.axhline(0, color="black", lw=0.6)
    ax.set_xticks(x, table["parameter"], rotation=35, ha="right")
    ax.set_ylabel("Sobol' index")
    ax.set_title(f"Sobol' indices of {found.output} ({found.used})", fontsize=10)
    ax.legend(frameon=False)
    return _save(fig, path)


def morris_plane(found: OutputAnalysis, path: Path, labels: int = 12) -> Path:
    table = found.table.sort_values("mu_star", ascending=False)
    fig, ax = plt.subplots(figsize=(7.5, 5.5))
    ax.errorbar(table["mu_star"], table["sigma"], xerr=table["mu_star_conf"], fmt="o", color="#1b9e77",
                ecolor="#999999", capsize=2, ms=5)  # fmt: skip
    top = max(float(table["mu_star"].max()), 1e-12)
    for ratio, style in ((0.1, ":"), (0.5, "--"), (1.0, "-")):
        ax.plot([0, top * 1.1], [0, ratio * top * 1.1], style, color="#bbbbbb", lw=1, label=f"sigma/mu* = {ratio}")
    for _, row in table.head(labels).iterrows():
        ax.annotate(row["parameter"], (row["mu_star"], row["sigma"]), fontsize=8, xytext=(4, 3), textcoords="offset points")
    ax.set_xlabel("mu* (mean absolute elementary effect)")
    ax.set_ylabel("sigma (spread: interactions or non-linearity)")
    ax.set_title(f"Morris screening of {found.output} ({found.used})", fontsize=10)
    ax.set_xlim(left=0)
    ax.set_ylim(bottom=0)
    ax.legend(frameon=False, fontsize=8, loc="lower right")
    return _save(fig, path)


def scatter_panels(analysis: Analysis, found: OutputAnalysis, path: Path) -> Path:
    keys = analysis.keys
    means, _ = sample_means(analysis.runs, found.output, len(analysis.design))
    ncols = min(4, len(keys))
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False, sharey=True)
    for ax, key in zip(axes.flat, keys):
        ax.scatter(analysis.design[key], means, s=8, alpha=0.6, color="#7570b3")
        ax.set_xlabel(key, fontsize=9)
    for ax in axes.flat[len(keys):]:
        ax.set_visible(False)
    axes[0, 0].set_ylabel(found.output)
    fig.suptitle(f"{found.output} against each parameter (means over replications)", fontsize=10)
    return _save(fig, path)


# -- grids -----------------------------------------------------------------------


def _panels(analysis: Analysis, table: pd.DataFrame, column: str):
    """(title, values, x values, y values, Z[y, x]) per panel of a grid table."""
    keys = analysis.keys
    x_key, y_key = keys[0], keys[1] if len(keys) > 1 else None
    panel_key = keys[2] if len(keys) > 2 else None
    extra = keys[3:]
    xs = list(analysis.sweep["parameters"][x_key]["values"])
    ys = list(analysis.sweep["parameters"][y_key]["values"]) if y_key else [None]
    panels = list(analysis.sweep["parameters"][panel_key]["values"]) if panel_key else [None]
    suffix = f" (averaged over {', '.join(extra)})" if extra else ""
    for value in panels:
        part = table if panel_key is None else table[table[panel_key] == value]
        z = np.full((len(ys), len(xs)), np.nan) if column != "category" else np.full((len(ys), len(xs)), None, dtype=object)
        for (i, yv), (j, xv) in ((a, b) for a in enumerate(ys) for b in enumerate(xs)):
            cell = part[(part[x_key] == xv) & ((part[y_key] == yv) if y_key else True)]
            if column == "category":
                z[i, j] = _majority(cell)
            elif len(cell):
                z[i, j] = cell[column].mean()
        title = f"{panel_key} = {value}{suffix}" if panel_key else suffix.strip()
        yield title, xs, ys, z


def _majority(cell: pd.DataFrame):
    if not len(cell):
        return None
    shares = cell.filter(like="share_").mean()
    if shares.isna().all():
        return None
    best = shares[shares == shares.max()]
    return (best.index[0][6:], float(best.iloc[0])) if len(best) == 1 else ("tie", float(best.iloc[0]))


def output_unit(output: str) -> str:
    """The unit of a sweep output, for colour bars: from the summary metrics' glossary."""
    if output == "late_reach_gap":
        return "users/day"
    metric = output.rpartition(".")[2]
    return METRIC_INFO[metric][0] if metric in METRIC_INFO else ""


def blank_label(output: str) -> str:
    """The legend entry of a cell without a value."""
    if output.endswith("crossover_day"):
        return "no crossover in any replication"
    return "no value (no ok run)"


def _ink(rgba) -> str:
    """Black or white text, whichever reads on this cell colour (relative luminance)."""
    r, g, b = to_rgb(rgba)
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else "black"


def grid_map(analysis: Analysis, found: OutputAnalysis, path: Path, gap: pd.DataFrame | None) -> Path:
    panels = list(_panels(analysis, found.table, "mean"))
    counts = {title: z for title, *_, z in _panels(analysis, found.table, "n")} if "n" in found.table else {}
    values = np.concatenate([z.ravel() for *_, z in panels])
    finite = values[np.isfinite(values)]
    names = _firm_names(analysis)
    is_gap = found.output == "late_reach_gap" and len(names) >= 2
    cmap, norm = plt.get_cmap("viridis"), None
    if finite.size and (finite.min() < 0 < finite.max() or is_gap):  # symmetric about 0, white at 0
        top = float(np.abs(finite).max()) or 1.0
        cmap, norm = (_diverging(names) if len(names) >= 2 else plt.get_cmap("RdBu_r")), Normalize(-top, top)
    elif finite.size:
        norm = Normalize(float(finite.min()), float(finite.max()) if finite.max() > finite.min() else float(finite.min()) + 1)
    replications = int(analysis.sweep.get("replications", 0) or 0)
    fig, axes = _axes(len(panels), panels[0])
    tie, blank = False, False
    for ax, (title, xs, ys, z) in zip(axes.flat, panels):
        ax.set_facecolor(NONE_COLOUR)  # cells without a value show the background
        blank |= bool(np.isnan(z).any())
        mesh = ax.pcolormesh(np.arange(len(xs) + 1), np.arange(len(ys) + 1), np.ma.masked_invalid(z), cmap=cmap, norm=norm)
        n = counts.get(title)
        _annotate(ax, z, lambda v: f"{v:,.0f}" if abs(v) >= 100 else f"{v:.2g}", cmap, norm, n, replications)
        if gap is not None:
            tie |= _tie_contour(ax, analysis, gap, title)
        _ticks(ax, analysis, xs, ys, title)
    unit = output_unit(found.output)
    label = found.output + (f" ({unit})" if unit else "")
    if is_gap:
        label += f"\n{names[1]} - {names[0]}; > 0: {names[1]} ahead"
    bar = fig.colorbar(mesh, ax=axes.ravel().tolist(), label=label, shrink=0.9)
    if norm is not None and norm.vmin == -norm.vmax:  # symmetric ticks: -top, -top/2, 0, top/2, top
        bar.set_ticks(np.linspace(norm.vmin, norm.vmax, 5))
    bar.ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}" if abs(v) >= 10 else f"{v:.2g}"))
    if blank:
        fig.legend(handles=[Patch(facecolor=NONE_COLOUR, edgecolor="#888888", label=blank_label(found.output))],
                   loc="lower center", bbox_to_anchor=(0.45, -0.02), frameon=False, fontsize=9)  # fmt: skip
    partial = any(replications and ((n > 0) & (n < replications)).any() for n in counts.values())
    title = f"{found.output}: mean over replications" + (", black line: tie (gap = 0)" if tie else "")
    if partial and found.output.endswith("crossover_day"):
        title += "\n(k/n in a cell: mean of the k of n replications with a crossover)"
    fig.suptitle(title, fontsize=11)
    return _save(fig, path, tight=False)


def winner_map(analysis: Analysis, found: OutputAnalysis, path: Path, gap: pd.DataFrame | None) -> Path:
    names = _firm_names(analysis)
    colours = {**firm_colours(names), "tie": NONE_COLOUR}
    categories = [n for n in [*names, "tie"]]
    panels = list(_panels(analysis, found.table, "category"))
    cmap = ListedColormap([colours[c] for c in categories])
    fig, axes = _axes(len(panels), panels[0])
    tie, blank = False, False
    for ax, (title, xs, ys, z) in zip(axes.flat, panels):
        ax.set_facecolor("white")
        codes = np.ma.masked_invalid(np.array([[categories.index(c[0]) if c else np.nan for c in row] for row in z], dtype=float))
        blank |= bool(codes.mask.any()) if np.ma.is_masked(codes) else False
        ax.pcolormesh(np.arange(len(xs) + 1), np.arange(len(ys) + 1), codes, cmap=cmap, vmin=-0.5, vmax=len(categories) - 0.5)
        if z.shape[0] <= ANNOTATE_MAX and z.shape[1] <= ANNOTATE_MAX:
            for (i, j), cell in np.ndenumerate(z):
                if cell:
                    ax.text(j + 0.5, i + 0.5, f"{cell[1]:.0%}", ha="center", va="center", fontsize=8,
                            color=_ink(colours[cell[0]]))  # fmt: skip
        if gap is not None:
            tie |= _tie_contour(ax, analysis, gap, title)
        _ticks(ax, analysis, xs, ys, title)
    handles = [Patch(color=colours[c], label=c) for c in categories]
    if blank:
        handles.append(Patch(facecolor="white", edgecolor="#888888", label="no ok run"))
    fig.legend(handles=handles, loc="center left", bbox_to_anchor=(1.0, 0.5), frameon=False,
               title="winner on late reach\n(cell: share of\nreplications it won)")  # fmt: skip
    fig.suptitle("Who wins on late reach" + (" (black line: tie of the mean gap)" if tie else ""), fontsize=11)
    return _save(fig, path, tight=False)


def _gap_table(analysis: Analysis) -> pd.DataFrame | None:
    """Grid table of the mean late-reach gap, for the tie contour: recorded or from both firms' late reach."""
    found = analysis.get("late_reach_gap")
    if found is not None and found.table is not None and "mean" in found.table:
        return found.table
    names = _firm_names(analysis)
    parts = [analysis.get(f"{n}.late_reach") for n in names[:2]]
    if len(names) < 2 or any(p is None or p.table is None for p in parts):
        return None
    table = parts[1].table.copy()
    table["mean"] = parts[1].table["mean"] - parts[0].table["mean"]
    return table


def _tie_contour(ax, analysis: Analysis, gap: pd.DataFrame, title: str) -> bool:
    """The line where the mean gap is 0, in the panel with this title; whether there is one."""
    for panel_title, xs, ys, z in _panels(analysis, gap, "mean"):
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in [*xs, *ys])
        if panel_title != title or z.shape[0] < 2 or z.shape[1] < 2 or not numeric:
            continue  # a contour between categories (e.g. rankings) would mean nothing
        finite = z[np.isfinite(z)]
        if finite.size and finite.min() < 0 < finite.max():
            ax.contour(np.arange(len(xs)) + 0.5, np.arange(len(ys)) + 0.5, np.ma.masked_invalid(z), levels=[0.0],
                       colors="black", linewidths=2)  # fmt: skip
            return True
    return False


def _axes(n: int, first):
    _, xs, ys, _ = first
    ncols = min(3, n)
    nrows = -(-n // ncols)
    width = max(4.5, 0.75 * len(xs) + 2.0)
    height = max(3.6, 0.6 * len(ys) + 1.6)
    fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols + 1.5, height * nrows + 0.6), squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes


def _ticks(ax, analysis: Analysis, xs, ys, title: str) -> None:
    keys = analysis.keys
    ax.set_xticks(np.arange(len(xs)) + 0.5, [_label(v) for v in xs], rotation=0)
    ax.set_xlabel(keys[0])
    if len(keys) > 1:
        ax.set_yticks(np.arange(len(ys)) + 0.5, [_label(v) for v in ys])
        if ax.get_subplotspec().is_first_col():
            ax.set_ylabel(keys[1])
    else:
        ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=10)


def _annotate(ax, z: np.ndarray, fmt, cmap=None, norm=None, counts: np.ndarray | None = None, replications: int = 0) -> None:
    """Each cell's value, white on dark colours; 'k/n' after it where only k of n replications gave one."""
    if z.shape[0] > ANNOTATE_MAX or z.shape[1] > ANNOTATE_MAX:
        return
    for (i, j), v in np.ndenumerate(z):
        if np.isfinite(v):
            text = fmt(v)
            if counts is not None and replications and np.isfinite(counts[i, j]) and counts[i, j] < replications:
                text += f"\n({int(counts[i, j])}/{replications})"
            ink = _ink(cmap(norm(v))) if cmap is not None and norm is not None else "black"
            ax.text(j + 0.5, i + 0.5, text, ha="center", va="center", fontsize=7, color=ink)


def _firm_names(analysis: Analysis) -> list[str]:
    base = analysis.sweep.get("base") or {}
    return [f["name"] for f in base.get("firms", [])]


def _diverging(names: list[str]):
    colours = firm_colours(names)
    return LinearSegmentedColormap.from_list("gap", [colours[names[0]], "#f7f7f7", colours[names[1]]])


def _label(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _safe(name: str) -> str:
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in name)


def _save(fig, path: Path, tight: bool = True) -> Path:
    if tight:
        fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path
