"""Figures of a study: peeling trajectories, the winner scatter with boxes, tree, ranking, mechanism."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Patch, Rectangle  # noqa: E402

from sim.palette import NONE as NONE_COLOUR  # noqa: E402
from sim.palette import firm_colours  # noqa: E402
from sim.study.analysis import MECHANISM, StudyAnalysis  # noqa: E402
from sim.study.outcomes import CONTESTED, CROSSOVER, NO_CROSSOVER  # noqa: E402

CONTESTED_COLOUR = "#7f7f7f"
TREES = 500  # as in sim.study.discovery.feature_ranking
LABELS = {"late_organic_reach": "organic reach", "late_paid_reach": "paid reach", "late_earned_reach": "earned reach",
          "late_reply_reach": "reply reach", "late_followers": "followers", "late_fatigue": "fatigue of followers",
          "cascade_mean": "mean cascade size", "cascade_max": "largest cascade"}  # fmt: skip


def class_colours(result: StudyAnalysis) -> dict[str, str]:
    colours = firm_colours(result.firms)
    colours.update({CONTESTED: CONTESTED_COLOUR, "tie": NONE_COLOUR, CROSSOVER: "#d62728", NO_CROSSOVER: "#1f77b4"})
    return colours


def write_figures(result: StudyAnalysis, folder: Path) -> dict[str, Path]:
    """Every figure the analysis supports; returns {name: path}. Old figures are removed first."""
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    made: dict[str, Path] = {}
    if not result.boxes:
        return made
    made["peeling"] = peeling_figure(result, folder / "peeling.png")
    made["scatter"] = scatter_figure(result, folder / "scatter.png")
    made["tree"] = tree_figure(result, folder / "tree.png")
    made["ranking"] = ranking_figure(result, folder / "feature_ranking.png")
    if not result.mechanism.empty:
        made["mechanism"] = mechanism_figure(result, folder / "mechanism.png")
    return made


def peeling_figure(result: StudyAnalysis, path: Path) -> Path:
    """Coverage against density along each class's peeling trajectory, the chosen box ringed."""
    boxes = [b for b in result.boxes.values() if not b.trajectory.empty]
    fig, axes = plt.subplots(1, len(boxes), figsize=(5.2 * len(boxes), 4.4), squeeze=False)
    for ax, box in zip(axes[0], boxes):
        t = box.trajectory
        peel = t[t["step"] == "peel"]
        points = ax.scatter(peel["coverage"], peel["density"], c=peel["res_dim"], cmap="viridis", s=22, zorder=2,
                            vmin=0, vmax=max(1, t["res_dim"].max()))  # fmt: skip
        ax.plot(peel["coverage"], peel["density"], color="#bbbbbb", lw=0.8, zorder=1)
        dropped = t[t["step"] != "peel"]
        if len(dropped):
            ax.scatter(dropped["coverage"], dropped["density"], marker="s", s=30, color="black", zorder=2,
                       label="insignificant restriction dropped")  # fmt: skip
        chosen = t.iloc[box.chosen]
        ax.scatter([chosen["coverage"]], [chosen["density"]], s=180, facecolors="none", edgecolors="red", lw=2, zorder=3,
                   label=f"chosen box: coverage {chosen['coverage']:.2f}, density {chosen['density']:.2f}")  # fmt: skip
        ax.set(xlabel="coverage", ylabel="density", xlim=(-0.02, 1.04), ylim=(-0.02, 1.04),
               title=f"{box.label} ({box.cases} of {box.n} points)")  # fmt: skip
        ax.legend(loc="lower left", fontsize=8)
        fig.colorbar(points, ax=ax, label="restricted dimensions")
    fig.suptitle("PRIM peeling trajectories")
    return _save(fig, path)


def _axis_values(result: StudyAnalysis, key: str) -> tuple[np.ndarray, list[str] | None]:
    """A parameter as plot coordinates: numbers as they are, choices as jittered integers."""
    column = result.points[key]
    if result.study["kinds"][key] != "category":
        return column.to_numpy(dtype=float), None
    names = sorted(column.astype(str).unique())
    codes = column.astype(str).map({n: i for i, n in enumerate(names)}).to_numpy(dtype=float)
    jitter = np.random.default_rng(0).uniform(-0.25, 0.25, len(codes))
    return codes + jitter, names


def scatter_figure(result: StudyAnalysis, path: Path) -> Path:
    """The two most important parameters, each point coloured by its class, each class's box drawn."""
    keys = list(result.ranking["parameter"][:2]) if len(result.ranking) >= 2 else result.keys[:2]
    colours = class_colours(result)
    fig, ax = plt.subplots(figsize=(7.2, 5.6))
    xs, x_names = _axis_values(result, keys[0])
    if len(keys) > 1:
        ys, y_names = _axis_values(result, keys[1])
    else:
        ys, y_names = np.random.default_rng(1).uniform(0, 1, len(xs)), None
    labels = result.labels.to_numpy()
    for label in dict.fromkeys([*result.classes, *sorted(set(labels))]):
        mask = labels == label
        if mask.any():
            ax.scatter(xs[mask], ys[mask], s=22, color=colours.get(label, NONE_COLOUR), label=f"{label} ({mask.sum()})",
                       edgecolors="white", linewidths=0.4)  # fmt: skip
    for label, box in result.boxes.items():
        if box.limits.empty:
            continue
        (x0, x1), (y0, y1) = _box_span(result, box, keys[0], xs, x_names), _box_span(result, box, keys[-1], ys, y_names)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, lw=2.2, ls="--",
                               edgecolor=colours.get(label, "black"), label=f"PRIM box of {label}"))  # fmt: skip
    ax.set_xlabel(keys[0])
    ax.set_ylabel(keys[1] if len(keys) > 1 else "(jitter)")
    for names, setter in ((x_names, ax.set_xticks), (y_names, ax.set_yticks)):
        if names:
            setter(range(len(names)), names)
    ax.legend(fontsize=8, loc="best", framealpha=0.85)
    ax.set_title(f"Who wins ({result.study['outcome']}), over the two most important parameters")
    return _save(fig, path)


def _box_span(result: StudyAnalysis, box, key: str, coords: np.ndarray, names: list[str] | None) -> tuple[float, float]:
    """A box's extent along one axis; the whole data range where the box does not restrict it."""
    pad = 0.02 * (np.nanmax(coords) - np.nanmin(coords) or 1.0)
    full = (np.nanmin(coords) - pad, np.nanmax(coords) + pad)
    row = box.limits[box.limits["parameter"] == key]
    if row.empty:
        return full
    row = row.iloc[0]
    if names is not None:
        kept = [names.index(v) for v in str(row["values"]).split("|") if v in names]
        return (min(kept) - 0.35, max(kept) + 0.35) if kept else full
    return float(row["low"]), float(row["high"])


def tree_figure(result: StudyAnalysis, path: Path) -> Path:
    from sklearn.tree import plot_tree

    fig, ax = plt.subplots(figsize=(13, 6.5))
    plot_tree(result.tree, feature_names=result.tree_features, class_names=list(result.tree.classes_), filled=True,
              impurity=False, proportion=False, rounded=True, fontsize=8, ax=ax)  # fmt: skip
    ax.set_title(f"Classification tree (depth 3; {result.tree_accuracy:.0%} of the points classified correctly)\n"
                 f"value = points per class: {', '.join(map(str, result.tree.classes_))}")
    return _save(fig, path)


def ranking_figure(result: StudyAnalysis, path: Path) -> Path:
    table = result.ranking.iloc[::-1]
    fig, ax = plt.subplots(figsize=(7, 0.45 * len(table) + 1.6))
    ax.barh(table["parameter"], table["importance"], xerr=table["std"] / np.sqrt(TREES), color="#4c72b0", capsize=3)
    ax.set_xlabel(f"extra-trees importance (mean decrease in impurity)\nbars: +- standard error over {TREES} trees")
    ax.set_title("Which parameters decide the winner")
    return _save(fig, path)


def mechanism_figure(result: StudyAnalysis, path: Path) -> Path:
    """Per metric: each firm's mean inside and outside each class's box."""
    table = result.mechanism
    metrics = [m for m in MECHANISM if m in set(table["metric"])]
    colours = firm_colours(result.firms)
    groups = [(b, w) for b in result.boxes if b in set(table["box"]) for w in ("inside", "outside")]
    cols = 4
    rows = int(np.ceil(len(metrics) / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.6 * rows), squeeze=False)
    width = 0.8 / len(result.firms)
    for ax, metric in zip(axes.flat, metrics):
        part = table[table["metric"] == metric]
        for k, firm in enumerate(result.firms):
            heights = [part[(part["box"] == b) & (part["where"] == w) & (part["firm"] == firm)]["mean"].mean() for b, w in groups]
            ax.bar(np.arange(len(groups)) + (k - (len(result.firms) - 1) / 2) * width, heights, width, color=colours[firm])
        ax.set_xticks(range(len(groups)), [f"{w}\n{b} box" for b, w in groups], fontsize=8)
        ax.set_title(LABELS.get(metric, metric), fontsize=10)
    for ax in list(axes.flat)[len(metrics):]:
        ax.axis("off")
    handles = [Patch(color=colours[f], label=f) for f in result.firms]
    fig.legend(handles=handles, loc="upper left", ncols=len(handles))
    fig.suptitle("Mechanism inside and outside each PRIM box (late window: last 90 days; means over points)")
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    fig.tight_layout()
    tmp = path.with_name(f".{path.stem}.tmp.png")
    fig.savefig(tmp)
    plt.close(fig)
    tmp.replace(path)
    return path
