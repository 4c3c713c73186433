"""The validation figure: every fact on one page, the model's mean and 95% CI against the published band."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

VERDICT_COLOURS = {"inside": "#1b9e77", "on the edge": "#e6ab02", "below": "#d95f02", "above": "#d95f02",
                   "unmeasured": "#7f7f7f"}
BAND_COLOUR = "#c6dbef"
LOG_SPAN = 10.0  # a row goes to log scale when its values span more than this factor


AXIS_LIMIT = 1e12  # a band edge beyond this (say -1e308, "no bound") is cut at the axis: no overflow in the limits


def _finite(values) -> list[float]:
    return [float(np.clip(v, -AXIS_LIMIT, AXIS_LIMIT)) for v in values if v is not None and np.isfinite(v)]


def _row_limits(row) -> tuple[float, float, bool]:
    """x-limits and whether the row uses a log scale."""
    values = _finite([row.range_low, row.range_high, row.model_mean, row.ci_low, row.ci_high])
    positive = [v for v in values if v > 0]
    model = _finite([row.model_mean, row.ci_low, row.ci_high])
    use_log = (
        len(positive) >= 2
        and bool(model) and min(model) > 0 and row.range_low >= 0
        and max(positive) / min(positive) > LOG_SPAN
    )  # fmt: skip
    if use_log:
        low, high = min(positive), max(positive)
        return low / 2.5, high * 2.5, True
    low, high = min(values), max(values)
    pad = 0.15 * (high - low) if high > low else max(abs(high), 1.0) * 0.1
    return low - pad, high + pad, False


def _fmt(x: float) -> str:
    if not np.isfinite(x):
        return "n/a"
    if x == 0:
        return "0"
    if abs(x) >= 0.01 and abs(x) < 1000:
        return f"{x:.3g}"
    return f"{x:.2e}"


def plot_validation(table: pd.DataFrame, path: Path, title: str = "") -> Path:
    """One row per fact: the published band (shaded), the model's mean (dot) and 95% CI (bar)."""
    n = len(table)
    fig, axes = plt.subplots(n, 1, figsize=(9.0, 1.05 * n + 1.0), squeeze=False)
    for ax, row in zip(axes[:, 0], table.itertuples(index=False)):
        left, right, use_log = _row_limits(row)
        if use_log:
            ax.set_xscale("log")
        ax.set_xlim(left, right)
        ax.axvspan(max(row.range_low, left), min(row.range_high, right), color=BAND_COLOUR, zorder=0)
        colour = VERDICT_COLOURS.get(row.verdict, "#7f7f7f")
        if np.isfinite(row.model_mean):
            lo = row.ci_low if np.isfinite(row.ci_low) else row.model_mean
            hi = row.ci_high if np.isfinite(row.ci_high) else row.model_mean
            if use_log:
                lo = max(lo, left)
            ax.plot([lo, hi], [0, 0], color=colour, lw=3, solid_capstyle="butt", zorder=2)
            ax.plot([row.model_mean], [0], "o", color=colour, ms=7, zorder=3)
        ax.set_ylim(-1, 1)
        ax.set_yticks([])
        scale = " (log)" if use_log else ""
        ax.set_title(
            f"{row.fact}{scale}: model {_fmt(row.model_mean)} vs published "
            f"{_fmt(row.range_low)}-{_fmt(row.range_high)}: {row.verdict}",
            loc="left", fontsize=9.5, color=colour if row.verdict != "inside" else "black",
        )  # fmt: skip
        ax.tick_params(axis="x", labelsize=8)
        for side in ("top", "right", "left"):
            ax.spines[side].set_visible(False)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.text(
        0.01, 0.005, "shaded: published range; dot: model mean; bar: 95% CI over replications",
        fontsize=8, color="#555555",
    )  # fmt: skip
    fig.tight_layout(rect=(0, 0.02, 1, 1))
    fig.savefig(path, dpi=140)
    plt.close(fig)
    return path


def is_log_row(row) -> bool:
    return _row_limits(row)[2]


__all__ = ["plot_validation", "is_log_row"]
