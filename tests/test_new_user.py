"""What a new user trips over (issue 23, section 3) and the API's argument errors (section 2).

Each test names one friction seen on a fresh clone and fails when it comes
back: a run with --set that hides its overrides, commands that cannot find
shipped files from another folder, two crossover statistics, a --help that
forgets commands, a silent first compile, a fact called "above" inside its
own interval, seven lines for one missing preset, and API errors that do
not name the argument.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim import cli
from sim.scenario import ScenarioError
from sim.validation.verdict import verdict

REPO = Path(__file__).resolve().parent.parent
ENV = {**os.environ, "PYTHONPATH": str(REPO)}
TINY_SET = ["--set", "width=12", "--set", "height=10", "--set", "steps=30", "--set", "home_radius=2",
            "--set", "firms.broadcast.ads_per_day=20"]  # fmt: skip


# --------------------------------------------------------------------------
# 2. a run with --set says so, in its report and its folder name
# --------------------------------------------------------------------------


SMALL = """name: small
description: A small duel where users read ~30 items a day.
width: 12
height: 10
steps: 30
home_radius: 2
firms:
  - {name: broadcast, preset: broadcast, ads_per_day: 20}
  - {name: dialogue, preset: dialogue}
"""


def test_a_run_with_set_names_its_overrides_in_the_report_and_the_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("small.yaml").write_text(SMALL)
    args = ["small.yaml", "--set", "attention_mean=10", "--set", "firms.broadcast.ads_per_day=0", "--seed", "3",
            "--replications", "2", "--workers", "1", "--quiet"]  # fmt: skip
    assert cli.main(args) == 0
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert folder.parent == Path("results/small+attention_mean=10+firms.broadcast.ads_per_day=0")  # not the seed
    top = (folder / "report.md").read_text().split("## Headline")[0]
    assert "this run changed 2 value(s) of `small.yaml`" in top
    assert "- `attention_mean = 10 (the file: 30)`" in top
    assert "- `firms.broadcast.ads_per_day = 0 (the file: 20)`" in top
    assert top.index("attention_mean = 10") < top.index("~30 items a day")  # before the file's description
    meta = json.loads((folder / "metadata.json").read_text())
    assert meta["overrides"] == {"attention_mean": 10, "firms.broadcast.ads_per_day": 0}
    assert meta["overrides_of"] == "small.yaml"


def test_validate_with_set_names_its_overrides_too(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    Path("small.yaml").write_text(SMALL)
    assert cli.main(["validate", "small.yaml", "--set", "attention_mean=10", "--replications", "2", "--workers", "1",
                     "--quiet"]) == 0  # fmt: skip
    folder = Path(capsys.readouterr().out.strip().splitlines()[-1])
    assert folder.parent == Path("results/validation/small+attention_mean=10")
    assert "- `attention_mean = 10 (the file: 30)`" in (folder / "report.md").read_text().split("## Where")[0]


def test_many_overrides_make_a_short_folder_name_and_none_leave_it_alone():
    from sim.scenario.changes import folder_name

    many = sim.load_scenario(overrides={f"firms.dialogue.{k}": 0.5 for k in ("reply_rate", "quality", "promo_share")}
                             | {"attention_mean": 12, "pages_followed": 50, "fatigue_gain": 0.1})  # fmt: skip
    assert folder_name(many) == "duel+6_overrides"
    assert folder_name(sim.load_scenario()) == "duel"
    assert folder_name(sim.load_scenario(overrides={"seed": 3, "replications": 2})) == "duel"  # run settings


# --------------------------------------------------------------------------
# 4. every command finds shipped files from another folder
# --------------------------------------------------------------------------


def test_sweep_study_and_calibrate_find_shipped_files_from_another_folder(tmp_path, monkeypatch):
    from sim.calibration.spec import load_calibration
    from sim.study.spec import load_study
    from sim.sweep.spec import load_sweep

    monkeypatch.chdir(tmp_path)
    sweep, _ = load_sweep("scenarios/sweeps/grid_attention_pages.yaml")
    assert sweep.name == "grid_attention_pages"
    assert load_study("scenarios/studies/push_vs_dialogue.yaml", quick=True).name == "push_vs_dialogue"
    assert load_calibration("scenarios/calibration/facebook_2013.yaml").name == "facebook_2013"


def test_the_sweep_command_from_another_folder_gets_past_the_file(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    blocker = tmp_path / "file"
    blocker.write_text("")
    code = cli.main(["sweep", "scenarios/sweeps/grid_attention_pages.yaml", "--out", str(blocker / "out")])
    err = capsys.readouterr().err
    assert code == 2 and "file not found" not in err and "out" in err  # it got as far as the output folder


# --------------------------------------------------------------------------
# 5. one crossover statistic, named where shown
# --------------------------------------------------------------------------


def test_the_crossover_day_is_the_same_mean_in_table_headline_and_figure(tmp_path, capsys):
    from sim.runs import figures
    from sim.model.outputs import Crossover

    found = [Crossover(day=d, leader="dialogue", overtaken="broadcast") for d in (100.0, 110.0, 150.0)]
    found.append(Crossover(day=float("nan"), leader=None, overtaken=None))
    text = figures.crossover_text(found)
    assert text.startswith("crossover day 120 (mean of the 3 of 4 replications with one)")
    out = tmp_path / "run"
    assert cli.main(["scenarios/classroom.yaml", *TINY_SET, "--replications", "3", "--workers", "1", "--out", str(out),
                     "--seed", "3"]) == 0  # fmt: skip
    printed = capsys.readouterr().out
    assert "mean over 3 replication(s)" in printed
    stats = pd.read_csv(out / "summary_stats.csv").query("metric == 'crossover_day'")
    report = (out / "report.md").read_text()
    headline = report.split("## Headline")[1].split("##")[0]
    mean = stats["mean"].iloc[0]
    if np.isnan(mean):
        assert "no crossover" in headline
    else:
        shown = f"{mean:.1f}".removesuffix(".0")
        assert f"Crossover day {shown} (mean of" in headline and "median" not in headline


# --------------------------------------------------------------------------
# 6. --help lists every command; a misspelt one is named
# --------------------------------------------------------------------------


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    for command in [*cli.SUBCOMMANDS, "list"]:
        assert f"\n  {command} " in out, command


@pytest.mark.parametrize("word, hint", [("sweeep", "did you mean 'sweep'?"), ("calibrat", "did you mean 'calibrate'?"),
                                        ("duel", "did you mean the scenario scenarios/duel.yaml?")])  # fmt: skip
def test_a_misspelt_command_is_named_with_a_suggestion(word, hint, capsys):
    assert cli.main([word]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: no command {word!r}; {hint}") and len(err.splitlines()) == 1


def test_a_missing_scenario_file_is_still_a_file_not_found(capsys):
    assert cli.main(["no_such.yaml"]) == 2
    assert "file not found" in capsys.readouterr().err


# --------------------------------------------------------------------------
# 7. the first run says it compiles, only when it will
# --------------------------------------------------------------------------


def test_the_compile_note_appears_only_with_a_cold_kernel_cache(tmp_path):
    from sim.runs import compile_notice

    code = "from sim.runs.compile_notice import announce_compiling as a; print(a(), a())"
    cold = subprocess.run([sys.executable, "-c", code], env={**ENV, "NUMBA_CACHE_DIR": str(tmp_path)},
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert cold.stdout.split() == ["True", "False"]  # once per process
    assert cold.stderr.strip() == compile_notice.NOTE
    assert compile_notice.kernels_cold() is False  # the test session's cache is warm (tests/conftest.py)


# --------------------------------------------------------------------------
# 9. a value whose interval crosses the band's edge is "on the edge"
# --------------------------------------------------------------------------


def test_a_fact_whose_interval_crosses_the_edge_is_on_the_edge():
    from sim.validation.section import ratio_text

    assert verdict(0.01617, 0.0047, 0.0161, 0.0158, 0.0165) == "on the edge"  # the duel's ad action rate
    assert verdict(0.01617, 0.0047, 0.0161, 0.0162, 0.0165) == "above"
    assert verdict(0.01, 0.0047, 0.0161, 0.009, 0.011) == "inside"
    assert verdict(0.004, 0.0047, 0.0161, 0.003, 0.0046) == "below"
    assert verdict(0.01617, 0.0047, 0.0161) == "above"  # one replication: no interval, the mean decides
    assert ratio_text(0.01617 / 0.0161) == "1.004" and ratio_text(1.0) == "1 (inside)"


# --------------------------------------------------------------------------
# 10. a firm without a preset is one line
# --------------------------------------------------------------------------


def test_a_firm_without_a_preset_is_one_line_naming_the_missing_key(tmp_path, capsys):
    path = tmp_path / "nopreset.yaml"
    path.write_text("firms:\n  - {name: ana, ads_per_day: 3}\n  - {name: dialogue, preset: dialogue}\n")
    assert cli.main([str(path)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1
    assert lines[0].startswith(f"error: {path}: firms[0].preset: missing; choose a preset ('broadcast', 'dialogue')")
    assert "posts_per_day" in lines[0]


# --------------------------------------------------------------------------
# API: arguments are named in the error
# --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: sim.load_scenario(123), r"^load_scenario: path: must be a file path.*\(int\)"),
        (lambda: sim.load_scenario(b"scenarios/duel.yaml"), r"^load_scenario: path: .*bytes"),
        (lambda: sim.load_scenario(["a"]), r"^load_scenario: path: .*list"),
        (lambda: sim.load_scenario({"width": 3}), r"^load_scenario: path: .*dict"),
        (lambda: sim.load_scenario("a\0b"), r"^load_scenario: path: must not contain a NUL"),
        (lambda: sim.load_scenario(overrides=5), r"^load_scenario: overrides: .*int"),
        (lambda: sim.load_scenario(overrides=[("width", 3)]), r"^load_scenario: overrides: .*KEY=VALUE"),
        (lambda: sim.run_scenario({"width": 10}), r"^run_scenario: scenario: .*not a dict"),
        (lambda: sim.run_scenario(seed="7"), r"^run_scenario: seed: must be a whole number >= 0 \(got '7'"),
        (lambda: sim.run_scenario(seed=-5), r"^run_scenario: seed: .*-5"),
        (lambda: sim.replication_seed("a", 0), r"^replication_seed: seed: .*'a'"),
        (lambda: sim.replication_seed(1, -1), r"^replication_seed: replication: .* \(got -1\)$"),
    ],
)  # fmt: skip
def test_bad_api_arguments_name_the_call_and_the_argument(call, message):
    with pytest.raises(ScenarioError, match=message):
        call()


def test_run_sweep_and_save_name_a_bad_folder(tmp_path):
    from sim.runs.run_results import RunResults

    with pytest.raises(sim.SweepError, match=r"^run_sweep: out: must be a file path.*\(int\)"):
        sim.run_sweep("scenarios/sweeps/grid_attention_pages.yaml", out=123)
    results = RunResults(scenario=sim.load_scenario(), replications=[], metadata={})
    with pytest.raises(ScenarioError, match=r"^save: folder: .*int"):
        results.save(123)


@pytest.mark.parametrize("seed", ["7", -5, 1.5, True, None, [7]])
def test_check_seed_refuses_what_run_scenario_refuses(seed):
    """The check MarketModel.from_scenario is to call: the values a scenario's seed: refuses."""
    from sim.scenario.arguments import check_seed

    with pytest.raises(ScenarioError, match=r"^MarketModel.from_scenario: seed: must be a whole number >= 0"):
        check_seed(seed, "MarketModel.from_scenario: seed")
    assert check_seed(np.int64(7), "x") == 7 and check_seed(7.0, "x") == 7


def test_save_overwrite_replaces_a_results_folder_only(tmp_path):
    scenario = sim.load_scenario(overrides={"width": 8, "height": 8, "steps": 3, "home_radius": 1,
                                            "firms.broadcast.ads_per_day": 5})  # fmt: skip
    results = sim.run_scenario(scenario, replications=1, seed=1, workers=1, progress=False)
    first = results.save(tmp_path / "run")
    stamp = (first / "metadata.json").stat().st_mtime_ns
    again = results.save(tmp_path / "run", overwrite=True)
    assert again == first and (again / "report.md").is_file() and (again / "metadata.json").stat().st_mtime_ns >= stamp
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep")
    with pytest.raises(OSError, match="not a results folder"):
        results.save(other, overwrite=True)
    assert (other / "mine.txt").read_text() == "keep"


def test_from_scenario_refuses_a_seed_that_run_scenario_refuses():
    from sim.model.market import MarketModel

    scenario = sim.load_scenario(overrides={"width": 6, "height": 6, "steps": 2})
    for bad in ("7", -5, 1.5, True):
        with pytest.raises(ScenarioError, match=r"^MarketModel.from_scenario: seed: must be a whole number >= 0"):
            MarketModel.from_scenario(scenario, seed=bad)
    same = [float(MarketModel.from_scenario(scenario, seed=s).rng.random()) for s in (7, np.int64(7))]
    assert same[0] == same[1]
