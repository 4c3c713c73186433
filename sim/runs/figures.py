"""Figures of a scenario run, written with matplotlib for print.

Every function takes tidy tables (all replications stacked, a
``replication`` column) and writes one PNG. Bands are 95% t-intervals of
the mean across replications, cut to the physical range of the quantity
(0..population users, 0..1 for trust and fatigue); with fewer than
`MIN_BAND_N` replications no band is drawn and the figure says so. Firm
colours come from `sim.palette`, keyed by firm name.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from scipy import stats  # noqa: E402

from sim.model.mechanics import CHANNEL_NAMES  # noqa: E402
from sim.model.outputs import EARLY_DAYS, LATE_DAYS, TRAILING_DAYS, Crossover, crossover, reach_matrix  # noqa: E402
from sim.palette import firm_colours, mixed_colour  # noqa: E402

plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "figure.dpi": 110, "savefig.dpi": 150})

SMOOTH_DAYS = 7  # noisy daily counts are shown as 7-day trailing means
MIN_BAND_N = 3  # below this a 95% t-band is too wide to mean anything (t = 12.7 at n = 2)
UNBOUNDED = (0.0, np.inf)


def mean_band(
    table: pd.DataFrame, column: str, firm: str, smooth: int = 1, bounds: tuple[float, float] = (-np.inf, np.inf)
) -> tuple[pd.Index, np.ndarray, np.ndarray | None, np.ndarray | None, int]:
    """Mean over replications of a daily column (optionally a trailing mean), its 95% band and n.

    The band is cut to ``bounds``; it is None with fewer than `MIN_BAND_N` replications.
    """
    wide = table[table["firm"] == firm].pivot(index="step", columns="replication", values=column)
    wide = wide.rolling(smooth, min_periods=1).mean()
    mean = wide.mean(axis=1).to_numpy()
    n = wide.shape[1]
    if n < MIN_BAND_N:
        return wide.index, mean, None, None, n
    half = stats.t.ppf(0.975, n - 1) * wide.std(axis=1, ddof=1).to_numpy() / np.sqrt(n)
    low, high = bounds
    return wide.index, mean, np.clip(mean - half, low, high), np.clip(mean + half, low, high), n


def band_note(n: int) -> str | None:
    """What the figure says when it draws no band."""
    if n >= MIN_BAND_N:
        return None
    if n == 1:
        return "one replication: no 95% band"
    return f"n = {n} replications: too few for a 95% band (needs {MIN_BAND_N})"


def _save(fig, path: Path, notes: list[str | None] = ()) -> Path:
    """Lay out, write the notes under the axes (wrapped), save and close."""
    text = "; ".join(n for n in notes if n)
    lines = textwrap.wrap(text, int(fig.get_figwidth() * 15)) if text else []
    if lines:
        fig.text(0.01, 0.01, "\n".join(lines), fontsize=8, color="#333333", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.02 + 0.045 * len(lines) * 4.2 / fig.get_figheight(), 1, 1))
    fig.savefig(path)
    plt.close(fig)
    return path


def _daily_lines(ax, table, column, names, colours, smooth=1, bounds=(-np.inf, np.inf)) -> int:
    n = 0
    for name in names:
        steps, mean, low, high, n = mean_band(table, column, name, smooth, bounds)
        ax.plot(steps, mean, color=colours[name], lw=1.6, label=name)
        if low is not None:
            ax.fill_between(steps, low, high, color=colours[name], alpha=0.25, lw=0)
    ax.set_xlabel("day")
    ax.grid(alpha=0.3)
    return n


def _count_bounds(population: int | None) -> tuple[float, float]:
    return (0.0, float(population)) if population else UNBOUNDED


def plot_daily(table, column: str, ylabel: str, title: str, path: Path, names: list[str], smooth: int = 1,
               population: int | None = None) -> Path:  # fmt: skip
    """One daily count per firm, mean with a 95% band within 0..population."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    n = _daily_lines(ax, table, column, names, firm_colours(names), smooth, _count_bounds(population))
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    return _save(fig, path, [band_note(n)])


def run_crossovers(table: pd.DataFrame) -> list[Crossover]:
    """The crossover of each replication, from the daily firm table."""
    return [crossover(reach_matrix(part)) for _, part in table.groupby("replication", sort=True)]


def crossover_text(found: list[Crossover]) -> str:
    """One line: the mean crossover day, in how many replications, and who overtook whom.

    The mean, as in summary_stats.csv, the report's table and the printed table,
    so that one run shows one crossover day everywhere.
    """
    days = np.array([c.day for c in found], dtype=float)
    defined = [c for c in found if np.isfinite(c.day)]
    if not defined:
        return f"no crossover: no firm overtakes for good in any of {len(found)} replication(s)"
    pairs = pd.Series([f"{c.leader} over {c.overtaken}" for c in defined]).value_counts()
    pair = pairs.index[0] + ("" if len(pairs) == 1 else f" in {pairs.iloc[0]} of them")
    day = crossover_mean(days)
    where = "" if len(found) == 1 else f" (mean of the {len(defined)} of {len(found)} replications with one)"
    return f"crossover day {_day(day)}{where}: {pair}"


def crossover_mean(days) -> float:
    """The crossover statistic every output shows: the mean over the replications that have one."""
    return float(np.nanmean(np.asarray(days, dtype=float)))


def _day(day: float) -> str:
    """194 or 194.5: a mean of whole days, as summary_stats.csv holds it, to one decimal at most."""
    return f"{day:.1f}".removesuffix(".0")


def plot_reach(table: pd.DataFrame, path: Path, names: list[str], population: int | None = None) -> Path:
    """Daily reach per firm, with the early and late windows and the crossover day marked."""
    fig, ax = plt.subplots(figsize=(10, 4.8))
    colours = firm_colours(names)
    days = np.sort(table["step"].unique())
    first, last = int(days[0]), int(days[-1])
    early_end = days[days <= EARLY_DAYS].max() if (days <= EARLY_DAYS).any() else last
    late_start = int(days[-LATE_DAYS:][0])
    ax.axvspan(first - 0.5, early_end + 0.5, color="#888888", alpha=0.10, lw=0)
    ax.axvspan(late_start - 0.5, last + 0.5, color="#888888", alpha=0.10, lw=0)
    n = _daily_lines(ax, table, "reach", names, colours, SMOOTH_DAYS, _count_bounds(population))
    label_y = 0.97
    ax.text(first, label_y, f" early: days {first}-{early_end}", transform=ax.get_xaxis_transform(),
            va="top", fontsize=8, color="#444444")  # fmt: skip
    ax.text(last, label_y, f"late: days {late_start}-{last} ", transform=ax.get_xaxis_transform(),
            va="top", ha="right", fontsize=8, color="#444444")  # fmt: skip
    found = run_crossovers(table)
    crossing = [c.day for c in found if np.isfinite(c.day)]
    caption = crossover_text(found) + f" ({TRAILING_DAYS}-day trailing means)"
    if crossing:
        day = crossover_mean(crossing)
        label = f"crossover (day {_day(day)})" if len(crossing) == 1 else f"crossover (mean, day {_day(day)})"
        ax.axvline(day, color="black", ls="--", lw=1.2, label=label)
        if len(found) > 1:
            ax.scatter(crossing, np.full(len(crossing), 0.0), marker="^", s=28, color="black", zorder=5, clip_on=False,
                       transform=ax.get_xaxis_transform(), label="crossover of each replication")  # fmt: skip
    ax.set_ylim(bottom=0)
    ax.set_ylabel(f"users reached per day ({SMOOTH_DAYS}-day mean)")
    ax.set_title("Daily reach", loc="left")
    ax.legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    return _save(fig, path, [caption, band_note(n)])


def plot_trust_fatigue(table: pd.DataFrame, path: Path, names: list[str]) -> Path:
    """Mean trust and mean fatigue of each firm's current followers (not trust_final: that is all users)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4.2), sharex=True)
    colours = firm_colours(names)
    for ax, column, label in zip(axes, ("trust_followers", "fatigue_followers"), ("trust", "fatigue")):
        n = _daily_lines(ax, table, column, names, colours, bounds=(0.0, 1.0))
        ax.set_ylabel(f"mean {label} of followers (0-1)")
        ax.set_title(f"{label.capitalize()} of the firm's followers ({column})", fontsize=10)
        ax.set_ylim(0, 1.02)
    axes[0].legend(frameon=False)
    return _save(fig, path, ["followers only; the summary's trust_final is the mean trust of all users", band_note(n)])


def plot_channels(table: pd.DataFrame, path: Path, names: list[str], population: int | None = None) -> Path:
    """Daily reach by channel, one panel per firm."""
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), sharey=True, squeeze=False)
    channel_colours = dict(zip(CHANNEL_NAMES, ("#4d4d4d", "#e6ab02", "#1b9e77", "#7570b3")))
    n = 0
    for ax, name in zip(axes[0], names):
        for channel in CHANNEL_NAMES:
            steps, mean, low, high, n = mean_band(table, f"{channel}_reach", name, SMOOTH_DAYS, _count_bounds(population))
            ax.plot(steps, mean, color=channel_colours[channel], lw=1.4, label=channel)
            if low is not None:
                ax.fill_between(steps, low, high, color=channel_colours[channel], alpha=0.2, lw=0)
        ax.set_title(name, color=firm_colours(names)[name])
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"users reached per day ({SMOOTH_DAYS}-day mean)")
    axes[0][0].legend(frameon=False, title="channel")
    return _save(fig, path, [band_note(n)])


def plot_cascades(cascades: pd.DataFrame, path: Path, names: list[str]) -> Path:
    """Complementary CDF of cascade sizes (items shared at least once), log-log."""
    fig, ax = plt.subplots(figsize=(6.5, 4.5))
    colours = firm_colours(names)
    for name in names:
        sizes = np.sort(cascades.loc[(cascades["firm"] == name) & (cascades["cascade_size"] > 0), "cascade_size"])
        if sizes.size == 0:
            continue
        ccdf = 1.0 - np.arange(sizes.size) / sizes.size
        ax.step(sizes, ccdf, where="post", color=colours[name], lw=1.6, label=f"{name} ({sizes.size} items)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("cascade size (shares per post or ad creative)")
    ax.set_ylabel("P(size >= x)")
    ax.set_title("Cascade sizes")
    ax.grid(alpha=0.3, which="both")
    ax.legend(frameon=False)
    return _save(fig, path)


def membership_colours(names: list[str]) -> list[str]:
    """A colour per follow pattern (bitmask, bit k: follows firm k): grey for none, the firm's own, their mean.

    The same colours as the browser's map (`sim.palette.mixed_colour`); the
    table has 2^F entries, which the scenario's firm limit keeps small.
    """
    base = list(firm_colours(names).values())
    return [mixed_colour([c for k, c in enumerate(base) if mask >> k & 1]) for mask in range(2 ** len(names))]


def plot_follow_maps(maps: dict[int, np.ndarray], path: Path, names: list[str]) -> Path:
    """The grid at three moments, each cell coloured by which firms its user follows."""
    colours = membership_colours(names)
    cmap = ListedColormap(colours)
    fig, axes = plt.subplots(1, len(maps), figsize=(4.2 * len(maps), 4.6), squeeze=False)
    for ax, (day, bits) in zip(axes[0], sorted(maps.items())):
        ax.imshow(bits.T, cmap=cmap, vmin=-0.5, vmax=len(colours) - 0.5, origin="lower", interpolation="nearest")
        ax.set_title(f"day {day}")
        ax.set_xlabel("x (cell)")
        ax.set_ylabel("y (cell)")
    legend = [Patch(color=colours[0], label="follows none")]
    legend += [Patch(color=colours[1 << k], label=f"follows {name}") for k, name in enumerate(names)]
    if len(names) > 1:
        legend.append(Patch(color=colours[-1], label="follows all (other pairs: mean colours)" if len(names) > 2
                            else "follows both"))  # fmt: skip
    fig.legend(handles=legend, loc="lower center", ncol=len(legend), frameon=False)
    fig.suptitle("Who follows whom at the end of the day (replication 0)")
    fig.tight_layout(rect=(0, 0.1, 1, 0.95))
    fig.savefig(path)
    plt.close(fig)
    return path


def plot_attention(platform: pd.DataFrame, path: Path) -> Path:
    """Platform attention: overload ratio and the share of budgets used."""
    daily = platform.groupby("step")[["overload", "attention_used_share", "overloaded_share"]].mean()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    left.plot(daily.index, daily["overload"], color="#444444", lw=1.6)
    left.axhline(1.0, color="#999999", ls="--", lw=1)
    left.set_ylabel("items offered / items readable")
    left.set_title("Attention overload")
    right.plot(daily.index, daily["attention_used_share"], lw=1.6, label="budget used")
    right.plot(daily.index, daily["overloaded_share"], lw=1.6, label="users overloaded")
    right.set_ylabel("share of users or budget (0-1)")
    right.set_ylim(0, 1.05)
    right.set_title("Attention used")
    right.legend(frameon=False)
    for ax in (left, right):
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    return _save(fig, path)


def write_run_figures(folder: Path, firms, platform, cascades, maps, names, population: int | None = None) -> dict[str, Path]:
    """Every figure of a scenario run, into ``folder``; returns name -> path.

    ``population`` (users in the world) bounds the bands of counts; without it they are only cut at 0.
    """
    folder.mkdir(parents=True, exist_ok=True)
    figures = {
        "reach": plot_reach(firms, folder / "reach.png", names, population),
        "followers": plot_daily(firms, "followers", "followers (users)", "Followers", folder / "followers.png", names,
                                population=population),  # fmt: skip
        "trust_fatigue": plot_trust_fatigue(firms, folder / "trust_fatigue.png", names),
        "channels": plot_channels(firms, folder / "reach_by_channel.png", names, population),
        "cascades": plot_cascades(cascades, folder / "cascade_ccdf.png", names),
        "attention": plot_attention(platform, folder / "attention.png"),
    }
    if maps:
        figures["follow_map"] = plot_follow_maps(maps, folder / "follow_map.png", names)
    return figures
