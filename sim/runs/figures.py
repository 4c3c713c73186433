"""Figures of a scenario run, written with matplotlib for print.

Every function takes tidy tables (all replications stacked, a
``replication`` column) and writes one PNG. Bands are 95% t-intervals of
the mean across replications.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import ListedColormap, to_rgb  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402
from scipy import stats  # noqa: E402

from sim.model.mechanics import CHANNEL_NAMES  # noqa: E402

PALETTE = ("#d95f02", "#1b9e77", "#7570b3", "#e7298a", "#66a61e", "#e6ab02")
NONE_COLOUR = "#d9d9d9"
plt.rcParams.update({"font.size": 11, "axes.titlesize": 12, "figure.dpi": 110, "savefig.dpi": 150})


def firm_colours(names: list[str]) -> dict[str, str]:
    return {name: PALETTE[k % len(PALETTE)] for k, name in enumerate(names)}


SMOOTH_DAYS = 7  # noisy daily counts are shown as 7-day trailing means


def mean_band(
    table: pd.DataFrame, column: str, firm: str, smooth: int = 1
) -> tuple[pd.Index, np.ndarray, np.ndarray, np.ndarray]:
    """Mean over replications of a daily column (optionally a trailing mean), with its 95% band."""
    wide = table[table["firm"] == firm].pivot(index="step", columns="replication", values=column)
    wide = wide.rolling(smooth, min_periods=1).mean()
    mean = wide.mean(axis=1).to_numpy()
    n = wide.shape[1]
    if n < 2:
        return wide.index, mean, mean, mean
    half = stats.t.ppf(0.975, n - 1) * wide.std(axis=1, ddof=1).to_numpy() / np.sqrt(n)
    return wide.index, mean, mean - half, mean + half


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return path


def _daily_lines(ax, table, column, names, colours, smooth=1):
    for name in names:
        steps, mean, low, high = mean_band(table, column, name, smooth)
        ax.plot(steps, mean, color=colours[name], lw=1.6, label=name)
        ax.fill_between(steps, low, high, color=colours[name], alpha=0.25, lw=0)
    ax.set_xlabel("day")
    ax.grid(alpha=0.3)


def plot_daily(table, column: str, ylabel: str, title: str, path: Path, names: list[str], smooth: int = 1) -> Path:
    """One daily metric per firm, mean with a 95% band."""
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    _daily_lines(ax, table, column, names, firm_colours(names), smooth)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(frameon=False)
    return _save(fig, path)


def plot_trust_fatigue(table: pd.DataFrame, path: Path, names: list[str]) -> Path:
    """Mean trust and mean fatigue of each firm's followers."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharex=True)
    colours = firm_colours(names)
    for ax, column, label in zip(axes, ("trust_followers", "fatigue_followers"), ("trust", "fatigue")):
        _daily_lines(ax, table, column, names, colours)
        ax.set_ylabel(f"mean {label} of followers (0-1)")
        ax.set_title(f"Followers' {label}")
    axes[0].legend(frameon=False)
    return _save(fig, path)


def plot_channels(table: pd.DataFrame, path: Path, names: list[str]) -> Path:
    """Daily reach by channel, one panel per firm."""
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4), sharey=True, squeeze=False)
    channel_colours = dict(zip(CHANNEL_NAMES, ("#377eb8", "#e41a1c", "#4daf4a", "#984ea3")))
    for ax, name in zip(axes[0], names):
        for channel in CHANNEL_NAMES:
            steps, mean, low, high = mean_band(table, f"{channel}_reach", name, SMOOTH_DAYS)
            ax.plot(steps, mean, color=channel_colours[channel], lw=1.4, label=channel)
            ax.fill_between(steps, low, high, color=channel_colours[channel], alpha=0.2, lw=0)
        ax.set_title(name)
        ax.set_xlabel("day")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel(f"users reached per day ({SMOOTH_DAYS}-day mean)")
    axes[0][0].legend(frameon=False, title="channel")
    return _save(fig, path)


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
    """A colour per follow pattern (bitmask): grey for none, firm colour, blends for several."""
    base = [np.array(to_rgb(c)) for c in firm_colours(names).values()]
    colours = []
    for mask in range(2 ** len(names)):
        members = [base[k] for k in range(len(names)) if mask >> k & 1]
        colours.append(NONE_COLOUR if not members else tuple(np.mean(members, axis=0) * 0.85))
    return colours


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
        legend.append(Patch(color=colours[-1], label="follows all" if len(names) > 2 else "follows both"))
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


def write_run_figures(folder: Path, firms, platform, cascades, maps, names) -> dict[str, Path]:
    """Every figure of a scenario run, into ``folder``; returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    figures = {
        "reach": plot_daily(
            firms, "reach", f"users reached per day ({SMOOTH_DAYS}-day mean)", "Daily reach",
            folder / "reach.png", names, SMOOTH_DAYS,
        ),
        "followers": plot_daily(firms, "followers", "followers (users)", "Followers", folder / "followers.png", names),
        "trust_fatigue": plot_trust_fatigue(firms, folder / "trust_fatigue.png", names),
        "channels": plot_channels(firms, folder / "reach_by_channel.png", names),
        "cascades": plot_cascades(cascades, folder / "cascade_ccdf.png", names),
        "attention": plot_attention(platform, folder / "attention.png"),
    }
    if maps:
        figures["follow_map"] = plot_follow_maps(maps, folder / "follow_map.png", names)
    return figures
