"""The duel's answer three ways, per model structure and averaged over structures.

Does the dialogue firm's late reach beat the broadcast firm's? Asked three ways:

- ``per_firm``: late reach against late reach (mean daily reach over the last 90 days);
- ``per_spend``: late reach per unit of late daily spend, each firm on its own money;
- ``matched_spend``: late reach in a second run at the same draw and seed in
  which the dialogue firm spends what the broadcast firm spends
  (`sim.calibration.matched`).

For each model structure the answer is the share of predictive draws where
dialogue wins (a tie is no win) with a Jeffreys 95% interval. The model
average weighs the structures' shares by their posterior probabilities;
its interval is the central 95% of the mixture of the structures' Jeffreys
posteriors Beta(k + 1/2, n - k + 1/2), found exactly by root finding on
the mixture's CDF.
"""

from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize, stats

from sim.calibration.predictive import jeffreys
from sim.jobs.errors import JobError
from sim.model.outputs import LATE_DAYS

PUSH, TALK = "broadcast", "dialogue"
COMPARISONS = ("per_firm", "per_spend", "matched_spend")
AVERAGE = "model average"
LEVEL = 0.95
TITLES = {
    "per_firm": "per firm\nlate reach",
    "per_spend": "per unit of spend\nlate reach / late daily spend",
    "matched_spend": "at matched spend\nlate reach, dialogue spending broadcast's money",
}
COLOURS = {"per_firm": "#1f77b4", "per_spend": "#2ca02c", "matched_spend": "#9467bd"}
TABLE_COLUMNS = ("structure", "probability", "comparison", "runs", "wins", "p", "p_low", "p_high", "gap_median",
                 "spend_ratio_median")


class AnswerError(JobError):
    """Inputs the answer cannot be computed from (one line)."""


def duel_outcomes(rep) -> dict[str, float]:
    """One replication's outcomes: per firm early and late reach, late daily spend and late reach per spend.

    ``{firm}.spend`` is the mean daily spend over the window of
    ``late_reach`` (the run's last ``LATE_DAYS`` days, all days if shorter);
    ``{firm}.late_reach_per_spend`` is late reach over it (NaN when nothing
    was spent). Also ``crossover_day`` (NaN when no firm overtakes for good).
    """
    summary = rep.summary.set_index("firm")
    spend = rep.firms.pivot(index="step", columns="firm", values="spend").sort_index().iloc[-LATE_DAYS:].mean()
    out: dict[str, float] = {}
    for firm in summary.index:
        late, money = float(summary.at[firm, "late_reach"]), float(spend[firm])
        out[f"{firm}.early_reach"] = float(summary.at[firm, "early_reach"])
        out[f"{firm}.late_reach"] = late
        out[f"{firm}.spend"] = money
        out[f"{firm}.late_reach_per_spend"] = late / money if money > 0 else math.nan
    out["crossover_day"] = float(summary["crossover_day"].iloc[0])
    return out


def _gaps(frame: pd.DataFrame, comparison: str) -> np.ndarray:
    """Dialogue minus broadcast, per draw, for one comparison (NaN where it is undefined)."""
    if comparison == "per_firm":
        talk, push = frame[f"{TALK}.late_reach"], frame[f"{PUSH}.late_reach"]
    elif comparison == "per_spend":
        talk, push = frame[f"{TALK}.late_reach_per_spend"], frame[f"{PUSH}.late_reach_per_spend"]
    else:
        talk = frame[f"matched.{TALK}.late_reach"]
        column = f"matched.{PUSH}.late_reach"
        push = frame[column if column in frame else f"{PUSH}.late_reach"]
    return (talk.astype(float) - push.astype(float)).to_numpy()


def _spend_ratio(frame: pd.DataFrame, comparison: str) -> float:
    """Median of dialogue's late daily spend over broadcast's in the runs compared: how far apart the money was."""
    if comparison == "matched_spend":
        talk, push = f"matched.{TALK}.spend", f"matched.{PUSH}.spend"
    else:
        talk, push = f"{TALK}.spend", f"{PUSH}.spend"
    if talk not in frame or push not in frame:
        return math.nan
    ratio = (frame[talk].astype(float) / frame[push].astype(float).where(frame[push] > 0)).to_numpy()
    ratio = ratio[np.isfinite(ratio)]
    return float(np.median(ratio)) if len(ratio) else math.nan


def _check(frame: pd.DataFrame, probabilities: dict[str, float]) -> None:
    needed = ["structure", "draw", *(f"{f}.{m}" for f in (PUSH, TALK) for m in ("late_reach", "late_reach_per_spend")),
              f"matched.{TALK}.late_reach"]  # fmt: skip
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise AnswerError(f"answer: frame: missing columns {', '.join(missing)}")
    present = set(frame["structure"].astype(str))
    if set(probabilities) - present - {m for m, w in probabilities.items() if w == 0}:
        lost = sorted(m for m in set(probabilities) - present if probabilities[m] > 0)
        raise AnswerError(f"answer: probabilities: structures {', '.join(lost)} have probability > 0 but no runs")
    unknown = sorted(present - set(probabilities))
    if unknown:
        raise AnswerError(f"answer: probabilities: no probability for structures {', '.join(unknown)}")
    weights = np.array(list(probabilities.values()), float)
    if (weights < 0).any() or not math.isclose(weights.sum(), 1.0, abs_tol=1e-6):
        raise AnswerError(f"answer: probabilities: must be >= 0 and sum to 1, got sum {weights.sum():.6g}")


def mixture_interval(parts: list[tuple[float, int, int]], level: float = LEVEL) -> tuple[float, float]:
    """Central interval of a mixture of Jeffreys posteriors: parts are (weight, wins, runs).

    The quantiles of sum_m w_m Beta(k_m + 1/2, n_m - k_m + 1/2), found by root
    finding on the mixture's CDF. As `jeffreys` does for one structure, the
    low end is 0 when no weighted structure has a win and the high end 1
    when every weighted one won every run.
    """
    parts = [(w, k, n) for w, k, n in parts if w > 0 and n > 0]
    if not parts:
        return math.nan, math.nan
    total = sum(w for w, _, _ in parts)

    def cdf(x: float) -> float:
        return sum(w * stats.beta.cdf(x, k + 0.5, n - k + 0.5) for w, k, n in parts) / total

    def quantile(q: float) -> float:
        return float(optimize.brentq(lambda x: cdf(x) - q, 0.0, 1.0, xtol=1e-12, rtol=1e-12))

    tail = (1 - level) / 2
    low = 0.0 if all(k == 0 for _, k, _ in parts) else quantile(tail)
    high = 1.0 if all(k == n for _, k, n in parts) else quantile(1 - tail)
    return low, high


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    if len(values) == 0 or weights.sum() <= 0:
        return math.nan
    order = np.argsort(values)
    cum = np.cumsum(weights[order]) / weights.sum()
    return float(values[order][np.searchsorted(cum, 0.5)])


def answer_table(frame: pd.DataFrame, probabilities: dict[str, float]) -> pd.DataFrame:
    """P(dialogue's late reach > broadcast's) per (structure, comparison), then the model average.

    ``frame``: one row per predictive draw with ``structure``, ``draw``, the
    `duel_outcomes` columns of the plain run and ``matched.dialogue.late_reach``
    (and ``matched.broadcast.late_reach``; without it the plain run's
    broadcast late reach stands in). ``probabilities``: structure -> posterior
    probability, summing to 1. Draws where a comparison is undefined (NaN:
    e.g. a firm that spent nothing, per unit of spend) are left out of it and
    ``runs`` says how many counted. ``gap_median``: median of dialogue minus
    broadcast (for the model average, over all draws weighted by
    probability / runs). ``spend_ratio_median``: median of dialogue's late
    daily spend over broadcast's in the runs compared (the plain runs, or the
    matched ones: near 1 there if the match held).
    """
    _check(frame, probabilities)
    rows: list[dict[str, Any]] = []
    pooled: dict[str, list[tuple[np.ndarray, float]]] = {c: [] for c in COMPARISONS}
    structures = list(dict.fromkeys(frame["structure"].astype(str)))
    for structure in structures:
        part = frame[frame["structure"].astype(str) == structure]
        weight = float(probabilities[structure])
        for comparison in COMPARISONS:
            gaps = _gaps(part, comparison)
            gaps = gaps[np.isfinite(gaps)]
            n, k = len(gaps), int((gaps > 0).sum())
            low, high = jeffreys(k, n) if n else (math.nan, math.nan)
            rows.append({"structure": structure, "probability": weight, "comparison": comparison, "runs": n,
                         "wins": k, "p": k / n if n else math.nan, "p_low": low, "p_high": high,
                         "gap_median": float(np.median(gaps)) if n else math.nan,
                         "spend_ratio_median": _spend_ratio(part, comparison)})  # fmt: skip
            pooled[comparison].append((gaps, weight))
    table = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    for comparison in COMPARISONS:
        mine = table[(table["comparison"] == comparison) & (table["probability"] > 0)]
        if (mine["runs"] == 0).any():
            p, low, high = math.nan, math.nan, math.nan
        else:
            p = float((mine["probability"] * mine["p"]).sum())
            low, high = mixture_interval(list(zip(mine["probability"], mine["wins"], mine["runs"])))
        values = np.concatenate([g for g, w in pooled[comparison] if w > 0 and len(g)] or [np.zeros(0)])
        weights = np.concatenate([np.full(len(g), w / len(g)) for g, w in pooled[comparison] if w > 0 and len(g)]
                                 or [np.zeros(0)])  # fmt: skip
        table.loc[len(table)] = {"structure": AVERAGE, "probability": 1.0, "comparison": comparison,
                                 "runs": int(mine["runs"].sum()), "wins": int(mine["wins"].sum()), "p": p,
                                 "p_low": low, "p_high": high, "gap_median": _weighted_median(values, weights),
                                 "spend_ratio_median": math.nan}  # fmt: skip
    return table


def answer_figure(table: pd.DataFrame, path: Path) -> Path:
    """Dots and 95% intervals of P(dialogue wins late): a panel per comparison, a row per structure.

    The model average sits below a rule in bold; each structure's label
    carries its posterior probability; the dashed line is 0.5 (a coin toss).
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sim.jobs.folder import atomic_write

    structures = [s for s in dict.fromkeys(table["structure"]) if s != AVERAGE]
    order = [*structures, AVERAGE]
    y = {s: len(order) - i + (0.0 if s == AVERAGE else 0.6) for i, s in enumerate(order)}
    probability = table.drop_duplicates("structure").set_index("structure")["probability"]
    labels = [f"{s}\nP(structure) = {probability[s]:.2f}" if s != AVERAGE else "model average\n(weighted by P)"
              for s in order]
    fig, axes = plt.subplots(1, len(COMPARISONS), figsize=(4.3 * len(COMPARISONS), 1.2 + 0.75 * len(order)),
                             sharey=True, squeeze=False)  # fmt: skip
    for ax, comparison in zip(axes[0], COMPARISONS):
        part = table[table["comparison"] == comparison].set_index("structure")
        for s in order:
            if s not in part.index or not np.isfinite(part.at[s, "p"]):
                continue
            row, average = part.loc[s], s == AVERAGE
            colour = "black" if average else COLOURS[comparison]
            alpha = 1.0 if average or row["probability"] > 0 else 0.4  # a structure of probability 0 weighs nothing
            ax.plot([row["p_low"], row["p_high"]], [y[s]] * 2, color=colour, lw=3.5 if average else 2.2,
                    solid_capstyle="butt", alpha=alpha)  # fmt: skip
            ax.plot(row["p"], y[s], "D" if average else "o", color=colour, ms=9 if average else 7, mec="white",
                    alpha=alpha)  # fmt: skip
            note = f"{row['p']:.2f}" if average else f"{row['p']:.2f}  ({int(row['wins'])}/{int(row['runs'])})"
            side = "left" if row["p"] < 0.15 else "right" if row["p"] > 0.85 else "center"  # inside the panel
            ax.annotate(note, (row["p"], y[s]), xytext=(0, 8), textcoords="offset points", ha=side,
                        fontsize=8, color=colour, alpha=alpha)  # fmt: skip
        ax.axvline(0.5, color="#888888", ls="--", lw=1)
        ax.axhline(y[AVERAGE] + 0.8, color="#bbbbbb", lw=1)
        ax.set_xlim(-0.04, 1.04)
        ax.set_ylim(y[AVERAGE] - 0.7, max(y.values()) + 0.7)
        ax.set_title(TITLES[comparison], fontsize=9.5)
        ax.set_xlabel("share of draws where dialogue is ahead", fontsize=9)
        ax.grid(axis="x", color="#eeeeee")
    axes[0][0].set_yticks([y[s] for s in order], labels, fontsize=9)
    for tick in axes[0][0].get_yticklabels()[-1:]:
        tick.set_fontweight("bold")
    fig.suptitle("Does dialogue out-reach broadcast late? Share of predictive draws where it does (wins/runs), "
                 "Jeffreys 95% interval;\nmodel average: shares weighted by P(structure), interval of the mixture "
                 "of their posteriors; dashed: 0.5", fontsize=10)  # fmt: skip
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format=Path(path).suffix.lstrip(".") or "png", dpi=120)
    plt.close(fig)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, buffer.getvalue())
    return path


def _num(x: float) -> str:
    return f"{x:.2f}" if np.isfinite(x) else ""


def answer_markdown(table: pd.DataFrame) -> str:
    """A markdown table of the answer and one sentence per comparison, in the table's own numbers."""
    lines = ["| structure | P(structure) | comparison | runs | share dialogue wins late | 95% interval | median gap "
             "| spend ratio |", "|---|---:|---|---:|---:|---|---:|---:|"]  # fmt: skip
    for _, r in table.iterrows():
        prob = "" if r["structure"] == AVERAGE else f"{r['probability']:.2f}"
        name = f"**{r['structure']}**" if r["structure"] == AVERAGE else r["structure"]
        lines.append(f"| {name} | {prob} | {r['comparison']} | {int(r['runs'])} | {r['p']:.2f} | "
                     f"{r['p_low']:.2f}-{r['p_high']:.2f} | {r['gap_median']:.4g} | "
                     f"{_num(r['spend_ratio_median'])} |")  # fmt: skip
    lines.append("")
    lines.append("Share: of the predictive draws, those where dialogue's late reach (per unit of spend, or in the "
                 "matched-spend run) is above broadcast's; spend ratio: median of dialogue's late daily spend over "
                 "broadcast's in the runs compared.")
    lines.append("")
    units = {"per_firm": "users a day", "per_spend": "users a day per unit spent", "matched_spend": "users a day"}
    measure = {"per_firm": "late reach", "per_spend": "late reach per unit of late daily spend",
               "matched_spend": "late reach in the matched-spend run"}
    what = {"per_firm": "Per firm", "per_spend": "Per unit of spend", "matched_spend": "At matched spend"}
    for comparison in COMPARISONS:
        avg = table[(table["structure"] == AVERAGE) & (table["comparison"] == comparison)]
        per = table[(table["structure"] != AVERAGE) & (table["comparison"] == comparison)]
        if avg.empty or not np.isfinite(avg["p"].iloc[0]):
            lines.append(f"- {what[comparison]}: no model average (a structure with probability > 0 has no runs).")
            continue
        a = avg.iloc[0]
        spread = ", ".join(f"{r['structure']} {r['p']:.2f}" for _, r in per.iterrows())
        verdict = ("dialogue wins in most draws" if a["p_low"] > 0.5 else "broadcast wins in most draws"
                   if a["p_high"] < 0.5 else "the interval holds one half: no winner is told apart")  # fmt: skip
        lines.append(f"- {what[comparison]}: dialogue's {measure[comparison]} beats broadcast's in a share "
                     f"{a['p']:.2f} of the draws, averaged over structures (95% {a['p_low']:.2f}-{a['p_high']:.2f}): {verdict}; "
                     f"per structure {spread}; median gap (dialogue - broadcast) {a['gap_median']:.4g} "
                     f"{units[comparison]}.")  # fmt: skip
    return "\n".join(lines) + "\n"
