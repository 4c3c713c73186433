"""Study files: bad input is one line and exit status 2; a posterior region is drawn by weight."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml

from sim.cli import main
from sim.study.model import StudyModel
from sim.study.spec import StudyError, load_study
from sim.sweep.design import build_design
from tests.study_helpers import study_file

BAD = [
    ({"samples": 1}, "samples: must be between 2 and 10000000 (got 1)"),
    ({"region": {"attention_mean": {"bounds": [5, 0.5]}}}, "region.attention_mean: bounds: low must be below high"),
    ({"region": {"attention_mean": {"bounds": [0, 50]}}}, "region.attention_mean: bounds: must lie in the allowed range"),
    ({"region": {"atention_mean": {"bounds": [5, 50]}}}, "region.atention_mean: unknown parameter; did you mean 'attention_mean'?"),
    ({"region": {"ranking": {"bounds": [0, 1]}}}, "region.ranking: a choice (one of 'engagement', 'chronological') has no bounds; give values: [...]"),
    ({"region": {"ranking": {"values": ["engagement", "random"]}}}, "region.ranking: values: 'random' is not allowed"),
    ({"region": {"attention_mean": {"bounds": [5, 50], "values": [5]}}}, "give bounds: [low, high] or values: [a, b, ...], one of them"),
    ({"region": {"seed": {"bounds": [1, 2]}}}, "region.seed: a run setting, not a model parameter"),
    ({"region": {"firms.pusher.ads_per_day": {"bounds": [0, 5]}}}, "no firm named 'pusher' in the base scenario"),
    ({"region": {"posterior": "nowhere", "attention_mean": {"bounds": [5, 50]}}}, "a posterior region stands alone"),
    ({"region": {"posterior": "nowhere"}}, "region.posterior: nowhere/posterior.parquet: not found"),
    ({"outcome": "loser"}, "outcome: "),
    ({"replications": 0}, "replications: must be between 1 and 10000 (got 0)"),
    ({"colour": "red"}, "colour: "),
    ({"overrides": {"width": 1}}, "overrides"),
    ({"scenario": "missing.yaml"}, "scenario: "),
]  # fmt: skip


@pytest.mark.parametrize("change, message", BAD)
def test_a_bad_study_file_is_one_line_and_exit_status_2(tmp_path, capsys, change, message):
    path = study_file(tmp_path, **change)
    assert main(["study", str(path), "--out", str(tmp_path / "out"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"error: {path}") and "Traceback" not in err
    assert message in err, err
    assert not (tmp_path / "out").exists(), "nothing is written for bad input"


def test_unreadable_files_and_bad_options_are_one_line(tmp_path, capsys):
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: [unclosed\n")
    for argv in (["study", str(tmp_path / "none.yaml")], ["study", str(broken)],
                 ["study", str(study_file(tmp_path)), "--workers", "0"], ["study"]):  # fmt: skip
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("error: ") and "Traceback" not in err


def posterior_fixture(folder, weights, ranking=("engagement", "chronological", "engagement")):
    folder.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame({  # the columns sim.calibration writes: generation, parameters, weight, distance
        "generation": [6, 6, 6], "attention_mean": [10.0, 20.0, 40.0], "ranking": list(ranking),
        "firms.broadcast.ads_per_day": [0, 30, 60], "weight": weights, "distance": [0.1, 0.2, 0.3],
    })  # fmt: skip
    table.to_parquet(folder / "posterior.parquet", index=False)
    return folder


def test_a_posterior_region_is_drawn_by_weight_reproducibly(tmp_path):
    calibration = posterior_fixture(tmp_path / "calibration", [0.1, 0.6, 0.3])
    path = study_file(tmp_path, region={"posterior": str(calibration)}, samples=3000)
    study = load_study(path)
    assert study.keys == ["attention_mean", "ranking", "firms.broadcast.ads_per_day"]
    model = StudyModel(study)
    design = build_design(study.sweep())
    drawn = [model.values(row) for row in design.points.to_dict("records")]
    counts = pd.Series([d["attention_mean"] for d in drawn]).value_counts(normalize=True)
    for value, weight in ((10.0, 0.1), (20.0, 0.6), (40.0, 0.3)):
        assert abs(counts[value] - weight) < 0.005, "a Latin hypercube draws rows in proportion to their weights"
    row = next(d for d in drawn if d["attention_mean"] == 20.0)
    assert row == {"attention_mean": 20.0, "ranking": "chronological", "firms.broadcast.ads_per_day": 30}
    again = build_design(load_study(path).sweep())
    pd.testing.assert_frame_equal(design.points, again.points)  # the study's seed fixes the draw
    other = build_design(load_study(study_file(tmp_path, "s2.yaml", region={"posterior": str(calibration)},
                                               samples=3000, seed=2)).sweep())  # fmt: skip
    assert not np.array_equal(design.points.to_numpy(), other.points.to_numpy())


@pytest.mark.parametrize("weights, ranking, message", [
    ([0.0, 0.0, 0.0], ("engagement",) * 3, "weight: must be finite, >= 0 and sum to more than 0"),
    ([1.0, -1.0, 1.0], ("engagement",) * 3, "weight: must be finite"),
    ([1.0, 1.0, 1.0], ("engagement", "random", "engagement"), "row 1, ranking: \"random\" is not allowed"),
])  # fmt: skip
def test_a_bad_posterior_is_one_line(tmp_path, weights, ranking, message):
    calibration = posterior_fixture(tmp_path / "calibration", weights, ranking)
    with pytest.raises(StudyError, match="region.posterior: ") as caught:
        load_study(study_file(tmp_path, region={"posterior": str(calibration)}))
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_the_resolved_study_is_stored_and_loads_back(tmp_path):
    study = load_study(study_file(tmp_path))
    resolved = yaml.safe_load(yaml.safe_dump(study.resolved_dict()))
    assert resolved["kinds"] == {"attention_mean": "float", "ranking": "category", "firms.broadcast.ads_per_day": "int"}
    assert resolved["firms"] == ["broadcast", "dialogue"] and resolved["base"]["steps"] == 30
    quick = load_study(study_file(tmp_path), quick=True)
    assert (quick.samples, quick.replications) == (4, 2) and quick.sweep().fingerprint() != study.sweep().fingerprint()
