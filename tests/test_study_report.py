"""The answer, from a fixture of stored runs: shares, Wilson intervals, contested points, sentences."""

from __future__ import annotations

import math

import pandas as pd

from sim.study.cli import study_report_main
from sim.study.outcomes import wilson
from tests.study_helpers import stored_study


def wilson_by_hand(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return centre - half, centre + half


def test_wilson_interval_matches_the_formula():
    for k, n in ((0, 10), (3, 17), (40, 40), (55, 100)):
        assert all(abs(a - b) < 1e-9 for a, b in zip(wilson(k, n), wilson_by_hand(k, n)))


def test_answer_table_and_sentences_come_from_the_stored_runs(tmp_path, capsys):
    out, attention = stored_study(tmp_path)
    assert study_report_main([str(out)]) == 0
    answer = pd.read_csv(out / "analysis" / "answer.csv")
    assert list(answer.columns[:6]) == ["outcome", "firm", "share", "ci_low", "ci_high", "n"]
    late = answer[answer["outcome"] == "late"].set_index("firm")
    contested = {3, 17}
    b = sum(1 for s, a in enumerate(attention) if a < 30 and s not in contested)
    d = 40 - b - len(contested)
    assert late.loc["broadcast", "wins"] == b and late.loc["dialogue", "wins"] == d
    assert late.loc["contested", "wins"] == 2 and (late["n"] == 40).all()
    low, high = wilson_by_hand(d, 40)
    assert abs(late.loc["dialogue", "ci_low"] - low) < 1e-9 and abs(late.loc["dialogue", "ci_high"] - high) < 1e-9
    early = answer[answer["outcome"] == "early"].set_index("firm")
    assert early.loc["broadcast", "share"] == 1.0 and early.loc["contested", "share"] == 0.0

    report = (out / "report.md").read_text()
    opening = report.split("\n")[2]
    assert opening.startswith(
        f"Over the plausible region (40 design points x 2 replications = 80 runs), dialogue's late reach exceeds "
        f"broadcast's at {100 * d / 40:.0f}% of the points (95% CI {100 * low:.0f}%-{100 * high:.0f}%); "
        f"broadcast wins at {100 * b / 40:.0f}% "
    )
    assert "5% are contested (the winner flips between replications)." in opening
    assert "Early (days 1-30) it is the other way round: broadcast leads at 100% of the points" in opening
    # the box: broadcast wins below attention_mean 30, the last point below 30 is at 29.0
    assert "Broadcast wins late mainly where attention_mean <= " in opening
    limit = float(opening.split("attention_mean <= ")[1].split(" ")[0])
    assert 28 <= limit <= 31
    prim = pd.read_csv(out / "analysis" / "prim_broadcast.csv")
    assert list(prim["parameter"]) == ["attention_mean"] and {"low", "high", "coverage", "density", "qp"} <= set(prim.columns)
    assert prim["coverage"].iloc[0] >= 0.5 and prim["density"].iloc[0] >= 0.8
    for figure in ("peeling", "scatter", "tree", "feature_ranking", "mechanism"):
        assert (out / "figures" / f"{figure}.png").stat().st_size > 10_000
    ranking = pd.read_csv(out / "analysis" / "feature_ranking.csv")
    assert ranking["parameter"].iloc[0] == "attention_mean"
    assert "report:" in capsys.readouterr().out


def test_a_partial_study_is_reported_as_partial(tmp_path):
    out, _ = stored_study(tmp_path)
    import yaml

    study = yaml.safe_load((out / "study.yaml").read_text())
    study["samples"] = 60  # 20 points are not stored yet
    (out / "study.yaml").write_text(yaml.safe_dump(study))
    assert study_report_main([str(out)]) == 0
    assert "**Partial study**: 80 of 120 runs stored ok" in (out / "report.md").read_text()


def test_study_report_of_a_folder_that_is_no_study_is_one_line(tmp_path, capsys):
    assert study_report_main([str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.strip() == f"error: {tmp_path}: not a study folder (no study.yaml)"
