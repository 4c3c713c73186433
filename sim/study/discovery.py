"""Scenario discovery: PRIM boxes, a classification tree, a feature ranking, the mechanism.

PRIM (Friedman and Fisher 1999) comes from the ``prim`` package (Project
Platypus' port of the EMA Workbench's implementation); the tree and the
extra-trees ranking from scikit-learn. The box chosen on a peeling
trajectory: every step that covers at least ``MIN_COVERAGE`` of the cases
has its restrictions that are not significant (quasi-p > ``MAX_QP``, the
one-sided binomial test of Bryant and Lempert 2010) dropped one by one, the
least significant first, as Bryant and Lempert advise; the densest box that
results is chosen (ties: the larger coverage). The drops that lead to it are
appended to the trajectory (step ``dropped <name>``).
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

MIN_COVERAGE = 0.5
MAX_QP = 0.05
PEEL_ALPHA = 0.05
MASS_MIN = 0.05


@dataclass
class Box:
    """A PRIM box for one class: its trajectory, the chosen step, its limits and statistics."""

    label: str
    cases: int
    n: int
    trajectory: pd.DataFrame = field(default_factory=pd.DataFrame)
    chosen: int = 0
    limits: pd.DataFrame = field(default_factory=pd.DataFrame)
    inside: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    @property
    def stats(self) -> dict[str, float]:
        if self.trajectory.empty:
            return {"coverage": float("nan"), "density": float("nan"), "mass": float("nan")}
        row = self.trajectory.iloc[self.chosen]
        return {"coverage": float(row["coverage"]), "density": float(row["density"]), "mass": float(row["mass"])}


def prim_box(x: pd.DataFrame, hit: np.ndarray, label: str) -> Box:
    """Peel a box around the points where ``hit`` is true and choose one step of the trajectory."""
    import prim
    from prim.scenario_discovery_util import determine_restricted_dims

    hit = np.asarray(hit, dtype=bool)
    box = Box(label=label, cases=int(hit.sum()), n=len(hit))
    if box.cases == 0 or box.cases == len(hit):
        box.inside = np.ones(len(hit), dtype=bool)
        box.limits = _limits_frame([])
        if box.cases:
            box.trajectory = pd.DataFrame([{"coverage": 1.0, "density": 1.0, "mass": 1.0, "res_dim": 0, "step": "peel"}])
        return box
    data = _prim_input(x)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        finder = prim.Prim(data, hit.astype(float), threshold=0.5, threshold_type=">",
                           peel_alpha=PEEL_ALPHA, mass_min=MASS_MIN)  # fmt: skip
        found = finder.find_box()
        peeled = len(found.peeling_trajectory)
        coverage = found.peeling_trajectory["coverage"].astype(float).to_numpy()
        best = None
        for step in np.flatnonzero(coverage >= MIN_COVERAGE):
            found.select(int(step))
            path, names = [int(step)], ["peel"]
            while True:  # drop restrictions that are not significant, the least significant first
                qp = found._calculate_quasi_p(found._cur_box)
                worst = max(qp, key=qp.get) if qp else None
                if worst is None or qp[worst] <= MAX_QP:
                    break
                found.drop_restriction(worst)
                path.append(int(found._cur_box))
                names.append(f"dropped {worst}")
            stats = found.peeling_trajectory.iloc[path[-1]]
            key = (float(stats["density"]), float(stats["coverage"]))
            if best is None or key > best[0]:
                best = (key, path, names, qp)
    _, path, names, qp = best
    table = found.peeling_trajectory.rename(columns={"res dim": "res_dim"}).astype(float)
    rows_kept = list(range(peeled)) + path[1:]
    trajectory = table.iloc[rows_kept][["coverage", "density", "mass", "res_dim"]].reset_index(drop=True)
    trajectory["step"] = ["peel"] * peeled + names[1:]
    chosen = peeled + len(path) - 2 if len(path) > 1 else path[0]
    lims = found._box_lims[path[-1]]
    qps = {chosen: qp}
    rows = []
    for name in determine_restricted_dims(lims, finder._box_init):
        low, high = lims[name][0], lims[name][1]
        if isinstance(low, set):
            rows.append({"parameter": name, "kind": "category", "low": np.nan, "high": np.nan,
                         "values": "|".join(sorted(map(str, low))), "qp": float(qps[chosen][name])})  # fmt: skip
        else:
            rows.append({"parameter": name, "kind": "number", "low": float(low), "high": float(high),
                         "values": "", "qp": float(qps[chosen][name])})  # fmt: skip
    box.trajectory, box.chosen, box.limits = trajectory, chosen, _limits_frame(rows)
    box.inside = in_box(x, box.limits)
    return box


def _limits_frame(rows: list[dict]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["parameter", "kind", "low", "high", "values", "qp"])
    return frame.sort_values("qp", kind="stable").reset_index(drop=True)


def _prim_input(x: pd.DataFrame) -> pd.DataFrame:
    """Numbers as floats, choices as object columns (PRIM peels them as categories)."""
    data = pd.DataFrame(index=range(len(x)))
    for column in x.columns:
        values = x[column].to_numpy()
        data[column] = values.astype(float) if pd.api.types.is_numeric_dtype(x[column]) else values.astype(object)
    return data


def in_box(x: pd.DataFrame, limits: pd.DataFrame) -> np.ndarray:
    """Whether each point lies inside a box given by its limits table."""
    inside = np.ones(len(x), dtype=bool)
    for row in limits.itertuples(index=False):
        column = x[row.parameter]
        if row.kind == "category":
            inside &= column.astype(str).isin(str(row.values).split("|")).to_numpy()
        else:
            values = column.to_numpy(dtype=float)
            inside &= (values >= row.low) & (values <= row.high)
    return inside


def encode(x: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, str]]:
    """Features for scikit-learn: numbers as they are, choices one-hot; feature -> parameter."""
    parts, owner = [], {}
    for column in x.columns:
        if pd.api.types.is_numeric_dtype(x[column]):
            parts.append(x[[column]].astype(float))
            owner[column] = column
        else:
            dummies = pd.get_dummies(x[column].astype(str), prefix=column, prefix_sep="=").astype(float)
            parts.append(dummies)
            owner.update({c: column for c in dummies.columns})
    return pd.concat(parts, axis=1), owner


def feature_ranking(x: pd.DataFrame, labels: pd.Series, seed: int, trees: int = 500) -> pd.DataFrame:
    """Extra-trees impurity importance of each parameter for the class, with its spread over trees."""
    from sklearn.ensemble import ExtraTreesClassifier

    features, owner = encode(x)
    forest = ExtraTreesClassifier(n_estimators=trees, random_state=seed, min_samples_leaf=2, n_jobs=1)
    forest.fit(features.to_numpy(), labels.astype(str).to_numpy())
    per_tree = np.array([t.feature_importances_ for t in forest.estimators_])
    frame = pd.DataFrame(per_tree, columns=features.columns).T.groupby(owner).sum().T
    table = pd.DataFrame({"importance": frame.mean(), "std": frame.std(ddof=1)})
    table.index.name = "parameter"
    return table.sort_values("importance", ascending=False).reset_index()


def classification_tree(x: pd.DataFrame, labels: pd.Series, seed: int, depth: int = 3):
    """A shallow tree (depth 3, leaves of at least 5% of the points): the second view of the classes."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    features, _ = encode(x)
    leaf = max(2, int(round(0.05 * len(x))))
    tree = DecisionTreeClassifier(max_depth=depth, min_samples_leaf=leaf, random_state=seed)
    tree.fit(features.to_numpy(), labels.astype(str).to_numpy())
    text = export_text(tree, feature_names=list(features.columns), show_weights=True)
    accuracy = float(tree.score(features.to_numpy(), labels.astype(str).to_numpy()))
    return tree, list(features.columns), text, accuracy


def mechanism_table(points: pd.DataFrame, boxes: dict[str, Box], firms: list[str], metrics: list[str]) -> pd.DataFrame:
    """Mean of each mechanism metric per firm, inside each winner's box and outside it."""
    rows = []
    for label, box in boxes.items():
        if box.cases == 0:
            continue
        for where, mask in (("inside", box.inside), ("outside", ~box.inside)):
            part = points[mask]
            for firm in firms:
                for metric in metrics:
                    rows.append({"box": label, "where": where, "points": int(mask.sum()), "firm": firm,
                                 "metric": metric, "mean": float(part[f"{firm}.{metric}"].mean()) if len(part) else np.nan})  # fmt: skip
    return pd.DataFrame(rows, columns=["box", "where", "points", "firm", "metric", "mean"])
