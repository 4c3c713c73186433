"""Figures of a calibration: marginals over the prior, a pairwise plot, epsilon and acceptance, predictive checks."""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from sim.calibration.posterior import weighted_quantile  # noqa: E402
from sim.calibration.spec import Calibration  # noqa: E402

POSTERIOR, PRIOR, DEFAULT, CALIBRATED, BAND = "#1f6fb4", "#9a9a9a", "#d1495b", "#1f6fb4", "#8fd19e"


def _axis_values(prior, values: np.ndarray) -> np.ndarray:
    return np.log10(values) if prior.log else values


def _set_scale(ax, prior, axis: str = "x") -> None:
    if prior.log:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
        _log_ticks(ax.xaxis if axis == "x" else ax.yaxis, prior.low, prior.high)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(prior.low, prior.high)


def _log_ticks(axis, low: float, high: float) -> None:
    """Labels at 1, 2 and 5 times powers of ten (at powers of ten alone over more than two decades), written
    plainly: no crowded minor labels."""
    subs = (1.0,) if high > 100 * low else (1.0, 2.0, 5.0)
    axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=subs))
    axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())


def marginals(calibration: Calibration, posterior: pd.DataFrame, path: Path) -> Path:
    """Each parameter's weighted posterior histogram over its flat prior, median and 90% interval marked."""
    n = len(calibration.priors)
    cols = min(3, n)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.2 * rows), squeeze=False)
    w = posterior["weight"].to_numpy(float)
    for ax, prior in zip(axes.flat, calibration.priors):
        x = posterior[prior.key].to_numpy(float)
        low, high = prior.low, prior.high
        edges = np.geomspace(low, high, 21) if prior.log else np.linspace(low, high, 21)
        ax.hist(x, bins=edges, weights=w, density=False, color=POSTERIOR, alpha=0.75, label="posterior")
        ax.axhline(1 / 20, color=PRIOR, lw=2, ls="--", label="prior (flat)")
        for q, style in ((0.05, ":"), (0.5, "-"), (0.95, ":")):
            ax.axvline(weighted_quantile(x, w, q), color="black", ls=style, lw=1)
        default = calibration.base.get(prior.key)
        if isinstance(default, (int, float)):
            ax.axvline(default, color=DEFAULT, lw=1.5, label="spec default")
        _set_scale(ax, prior)
        ax.set_title(prior.key + (" (log prior)" if prior.log else ""), fontsize=10)
        ax.set_ylabel("posterior mass per bin")
    for ax in list(axes.flat)[n:]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=8)
    fig.suptitle(f"{calibration.name}: posterior marginals (generation {int(posterior['generation'].iloc[0]) + 1}); "
                 "median solid, 90% interval dotted", fontsize=11)  # fmt: skip
    fig.tight_layout(rect=(0, 0, 1, 1 - 0.35 / fig.get_figheight()))  # room for the title
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def pairwise(calibration: Calibration, posterior: pd.DataFrame, path: Path) -> Path:
    """Every pair of parameters: particles sized by weight, axes spanning the prior."""
    priors = calibration.priors
    n = len(priors)
    fig, axes = plt.subplots(n, n, figsize=(2.3 * n + 1, 2.3 * n + 1), squeeze=False)
    w = posterior["weight"].to_numpy(float)
    size = 8 + 120 * w / w.max()
    for i, py in enumerate(priors):
        for j, px in enumerate(priors):
            ax = axes[i, j]
            if j > i:
                ax.axis("off")
                continue
            x = posterior[px.key].to_numpy(float)
            if i == j:
                edges = np.geomspace(px.low, px.high, 16) if px.log else np.linspace(px.low, px.high, 16)
                ax.hist(x, bins=edges, weights=w, color=POSTERIOR, alpha=0.75)
                ax.set_yticks([])
            else:
                ax.scatter(x, posterior[py.key].to_numpy(float), s=size, alpha=0.5, color=POSTERIOR, lw=0)
                _set_scale(ax, py, "y")
            _set_scale(ax, px, "x")
            if i == n - 1:
                ax.set_xlabel(px.key, fontsize=8)
            else:
                ax.set_xticklabels([])
            if j == 0 and i > 0:
                ax.set_ylabel(py.key, fontsize=8)
            elif j > 0:
                ax.set_yticklabels([])
            ax.tick_params(labelsize=7)
    fig.suptitle(f"{calibration.name}: posterior particles (size = weight), axes span the prior", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def epsilon_acceptance(generations: pd.DataFrame, path: Path, name: str) -> Path:
    """Epsilon (log scale) and acceptance rate by generation."""
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.4))
    g = generations["t"].to_numpy() + 1
    eps = generations["epsilon"].to_numpy(float)
    finite = np.isfinite(eps) & (eps > 0)
    a.plot(g[finite], eps[finite], "o-", color=POSTERIOR)
    if finite.any():
        a.set_yscale("log")
    off = [f"{gen}: {'inf (prior sample)' if np.isinf(v) else '0'}" for gen, v in zip(g[~finite], eps[~finite])]
    if off:
        a.text(0.98, 0.95, "not on the log axis: generation " + ", ".join(off), transform=a.transAxes,
               ha="right", va="top", fontsize=8)
    a.set_xlabel("generation")
    a.set_ylabel("epsilon (relative misses, summed)")
    a.set_title("epsilon: weighted median of the last distances", fontsize=10)
    a.set_xticks(g)
    b.plot(g, generations["acceptance_rate"], "o-", color=POSTERIOR)
    b.set_ylim(0, 1.05)
    b.set_xlabel("generation")
    b.set_ylabel("acceptance rate")
    b.set_xticks(g)
    b.set_title("accepted / simulated (generation 1 accepts all)", fontsize=10)
    fig.suptitle(name, fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def predictive_validation(calibration: Calibration, predictive: pd.DataFrame, path: Path) -> Path:
    """Each fact's band against the predictive runs of the calibrated region and of the default world."""
    bands = calibration.bands
    fig, axes = plt.subplots(len(bands), 1, figsize=(8, 1.25 * len(bands) + 1), squeeze=False)
    rng = np.random.default_rng(0)
    for ax, band in zip(axes[:, 0], bands):
        ax.axvspan(band.low, band.high, color=BAND, alpha=0.6, label="published band")
        values = []
        for row, (world, colour) in enumerate((("calibrated", CALIBRATED), ("default", DEFAULT))):
            v = predictive.loc[predictive["world"] == world, band.id].to_numpy(float)
            v = v[np.isfinite(v)]
            values.extend(v)
            ax.scatter(v, row + rng.uniform(-0.15, 0.15, len(v)), s=12, color=colour, alpha=0.6,
                       label=f"{world} world")  # fmt: skip
            if len(v):
                ax.plot([np.median(v)] * 2, [row - 0.3, row + 0.3], color="black", lw=1.5)
        ax.set_yticks([0, 1], ["calibrated", "default"], fontsize=8)
        ax.set_ylim(-0.6, 1.6)
        span = [x for x in [*values, band.low, band.high] if np.isfinite(x)]
        positive = [x for x in span if x > 0]
        if positive and min(span) > 0 and max(span) / min(positive) > 30:
            ax.set_xscale("log")
            _log_ticks(ax.xaxis, min(positive), max(span))
        ax.set_title(f"{band.id} (band {band.low:g} to {band.high:g})", fontsize=9, loc="left")
        ax.tick_params(labelsize=8)
    axes[0, 0].legend(fontsize=7, loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=3, frameon=False)
    fig.suptitle(f"{calibration.name}: posterior-predictive runs against the published bands "
                 "(black bar: median)", fontsize=10)  # fmt: skip
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def model_probability_figure(probabilities: pd.DataFrame, path: Path, name: str) -> Path:
    """Each structure's posterior probability by generation (generation 1: the prior sample)."""
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    structures = list(dict.fromkeys(probabilities["structure"]))
    colours = plt.get_cmap("tab10")
    for k, structure in enumerate(structures):
        part = probabilities[probabilities["structure"] == structure]
        ax.plot(part["generation"], part["probability"], "o-", color=colours(k % 10), label=structure)
    generations = sorted(probabilities["generation"].unique())
    ax.axhline(1 / max(1, len(structures)), color=PRIOR, ls=":", lw=1, label="uniform prior")
    ax.set_xticks(generations)
    ax.set_ylim(-0.02, 1.02)
    ax.set_xlabel("generation (1: the prior sample)")
    ax.set_ylabel("posterior probability")
    ax.set_title(f"{name}: which structure the facts favour", fontsize=10)
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
