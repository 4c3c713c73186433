"""Scenario discovery on synthetic data with a known answer: PRIM recovers the box, the ranking
finds the deciding parameters, the tree separates the classes, contested points stay contested."""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.study.discovery import classification_tree, feature_ranking, in_box, prim_box
from sim.study.outcomes import CONTESTED, point_table


def synthetic(n: int = 600, seed: int = 0, noise: float = 0.0):
    rng = np.random.default_rng(seed)
    x = pd.DataFrame({
        "a": rng.uniform(0, 1, n), "b": rng.uniform(0, 10, n), "c": rng.uniform(0, 1, n),
        "ranking": rng.choice(["engagement", "chronological"], n),
    })  # fmt: skip
    hit = (x.a > 0.3) & (x.a < 0.7) & (x.b < 4) & (x.ranking == "engagement")
    flip = rng.uniform(0, 1, n) < noise
    return x, (hit ^ flip).to_numpy()


def test_prim_recovers_a_known_box():
    x, hit = synthetic()
    box = prim_box(x, hit, "push")
    limits = box.limits.set_index("parameter")
    assert set(limits.index) == {"a", "b", "ranking"}, "c does not matter and stays unrestricted"
    assert abs(limits.at["a", "low"] - 0.3) < 0.05 and abs(limits.at["a", "high"] - 0.7) < 0.05
    assert limits.at["b", "low"] <= 0.1 and abs(limits.at["b", "high"] - 4.0) < 0.4
    assert limits.at["ranking", "values"] == "engagement"
    assert (limits["qp"] < 1e-3).all()
    assert box.stats["coverage"] >= 0.9 and box.stats["density"] >= 0.9
    assert np.array_equal(box.inside, in_box(x, box.limits))
    trajectory = box.trajectory
    peel = trajectory[trajectory["step"] == "peel"]
    assert trajectory["coverage"].iloc[0] == 1.0 and trajectory["density"].iloc[0] == hit.mean()
    densest = peel.loc[peel["coverage"] >= 0.5, "density"].max()
    assert trajectory.loc[box.chosen, "density"] == densest, "no restriction to drop: the densest covering step"


def test_prim_with_noisy_labels_still_finds_the_box_and_no_box_in_pure_noise():
    x, hit = synthetic(noise=0.05, seed=1)
    box = prim_box(x, hit, "push")
    limits = box.limits.set_index("parameter")
    assert set(limits.index) == {"a", "b", "ranking"}, "the noise restriction on c is dropped as insignificant"
    assert (limits["qp"] <= 0.05).all() and box.trajectory["step"].iloc[-1] == "dropped c"
    assert abs(limits.at["a", "low"] - 0.3) < 0.08 and abs(limits.at["b", "high"] - 4.0) < 0.8
    rng = np.random.default_rng(5)
    noise = prim_box(x, rng.uniform(0, 1, len(x)) < 0.4, "noise")
    assert noise.limits.empty or noise.stats["density"] < 0.6, "pure noise has no dense box"


def test_feature_ranking_and_tree_find_the_deciding_parameters():
    x, hit = synthetic()
    labels = pd.Series(np.where(hit, "push", "dialogue"))
    ranking = feature_ranking(x, labels, seed=0, trees=200)
    assert ranking["parameter"].iloc[-1] == "c", "the irrelevant parameter ranks last"
    assert set(ranking["parameter"]) == {"a", "b", "c", "ranking"}, "one-hot columns are summed back"
    assert abs(ranking["importance"].sum() - 1.0) < 1e-9
    _, features, text, accuracy = classification_tree(x, labels, seed=0)
    assert accuracy >= 0.9 and "ranking=" in " ".join(features) and "c <=" not in text


def test_replications_are_averaged_and_flipping_points_are_contested():
    runs = pd.DataFrame({
        "run_id": ["0a", "0b", "1a", "1b", "2a", "3a", "3b"], "sample": [0, 0, 1, 1, 2, 3, 3],
        "attention_mean": [5.0, 5.0, 50.0, 50.0, 80.0, 90.0, 90.0], "status": ["ok"] * 6 + ["failed"],
        "winner": ["broadcast", "broadcast", "broadcast", "dialogue", "dialogue", "dialogue", None],
        "early_winner": ["broadcast"] * 7,
        "broadcast.late_reach": [10.0, 12.0, 30.0, 10.0, 1.0, 1.0, np.nan],
        "dialogue.late_reach": [5.0, 6.0, 5.0, 15.0, 9.0, 9.0, np.nan],
        "broadcast.early_reach": [9.0] * 7, "dialogue.early_reach": [1.0] * 7,
        "late_reach_gap": [0.0] * 7, "early_reach_gap": [0.0] * 7, "crossover_day": [np.nan] * 7,
    })  # fmt: skip
    for f in ("broadcast", "dialogue"):
        for m in ("late_organic_reach", "late_paid_reach", "late_earned_reach", "late_reply_reach", "followers_final",
                  "late_followers", "late_fatigue", "trust_final", "cascade_mean", "cascade_max", "shared_items"):
            runs[f"{f}.{m}"] = 1.0
    points = point_table(runs, ["attention_mean"], ["broadcast", "dialogue"], replications=2).set_index("sample")
    assert list(points.index) == [0, 1], "points 2 and 3 lack a replication"
    assert points.at[0, "late"] == "broadcast" and points.at[0, "broadcast.late_reach"] == 11.0
    assert points.at[1, "late"] == CONTESTED, "broadcast leads on the mean, but the replications disagree"
