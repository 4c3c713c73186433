"""The Python API (`import sim`): the docs/api.md notebook runs, and each call keeps its contract.

The notebook's code blocks run top to bottom in a temporary folder. The
contract tests check what a researcher relies on: overrides mean what
``--set`` means, `run_scenario` gives the very tables the command line
writes for the same seed, `save` writes the same folder, a model from
`MarketModel.from_scenario` is replication r of a run, bad input is one
line, and ``import sim`` stays light.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

import sim
from sim import cli
from sim.runs.results import OutputError
from sim.scenario import load_scenario as load_with_set
from sim.sweep.store import SweepFolder

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "docs" / "api.md"
TINY = {
    "name": "tiny",
    "seed": 9,  # the tests pass seed=5 and replications=2: the call's settings must win
    "replications": 1,
    "width": 14,
    "height": 10,
    "steps": 40,
    "home_radius": 2,
    "firms": [
        {"name": "broadcast", "preset": "broadcast", "ads_per_day": 30, "budget": 6.3},
        {"name": "dialogue", "preset": "dialogue", "budget": 3},
    ],
}
SEED, REPLICATIONS = 5, 2
ENV = {**os.environ, "PYTHONPATH": str(REPO)}  # subprocesses import this checkout, not another install
TABLES = ("timeseries.parquet", "cascades.parquet", "summary.csv", "summary_stats.csv", "config.yaml")


def code_blocks(markdown: str) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", markdown, flags=re.S | re.M)


# --------------------------------------------------------------------------
# docs/api.md runs as written
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def notebook(tmp_path_factory):
    """docs/api.md's code blocks, run in order in one namespace from an empty folder."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder = tmp_path_factory.mktemp("notebook")
    namespace: dict = {"__name__": "__notebook__"}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        for k, block in enumerate(code_blocks(DOC.read_text(encoding="utf-8"))):
            exec(compile(block, f"{DOC}, block {k + 1}", "exec"), namespace)  # noqa: S102 - our own docs
    plt.close("all")
    namespace["_folder"] = folder
    return namespace


def test_the_docs_example_runs_and_shows_each_step(notebook):
    assert len(code_blocks(DOC.read_text(encoding="utf-8"))) >= 8
    results, model, sweep = notebook["results"], notebook["model"], notebook["sweep"]
    assert isinstance(results, sim.RunResults) and len(results.replications) == 3
    assert results.scenario.attention_mean == 10 and results.scenario.firms[0].ads_per_day == 80
    saved = notebook["folder"]
    assert saved == Path("results/api-example") and (notebook["_folder"] / saved / "report.md").is_file()
    assert model.steps == 60 and not model.running
    assert isinstance(sweep, sim.SweepResults) and sweep.counts == {"total": 4, "ok": 4, "failed": 0, "missing": 0}


def docs_script() -> str:
    """docs/api.md's code blocks pasted, as printed, one after the other into one plain script."""
    return "\n".join(code_blocks(DOC.read_text(encoding="utf-8")))


def test_the_docs_run_as_a_plain_script_and_again(tmp_path):
    """No __main__ guard: the sweep's Dask nanny must not re-run the script; a second run must not be refused."""
    script = tmp_path / "api_example.py"
    script.write_text(docs_script(), encoding="utf-8")
    env = {**ENV, "MPLBACKEND": "Agg"}
    for attempt in (1, 2):
        done = subprocess.run([sys.executable, script.name], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=600)  # fmt: skip
        assert done.returncode == 0, f"run {attempt}:\n{done.stderr[-3000:]}"
        assert "Traceback" not in done.stderr and "Nanny failed" not in done.stderr
    assert (tmp_path / "results" / "api-example" / "report.md").is_file()
    assert not list((tmp_path / "results").glob(".api-example*"))  # the replaced folder is gone


UNGUARDED = """
import sim
scenario = sim.load_scenario(overrides={"width": 10, "height": 10, "steps": 5, "firms.broadcast.ads_per_day": 10})
results = sim.run_scenario(scenario, replications=2, workers=2, seed=1, progress=False)
print("rows", len(results.summary))
"""


def test_a_script_without_a_main_guard_runs_replications_in_worker_processes(tmp_path):
    (tmp_path / "unguarded.py").write_text(UNGUARDED)
    done = subprocess.run([sys.executable, "unguarded.py"], cwd=tmp_path, env=ENV, capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["rows", "4"]  # the script ran once: its workers did not re-run it


def test_a_sweep_result_is_what_its_folder_holds(notebook):
    sweep = notebook["sweep"]
    folder = notebook["_folder"] / sweep.folder
    stored = SweepFolder(folder).read_runs()
    pd.testing.assert_frame_equal(sweep.runs, stored)
    assert list(sweep.runs["attention_mean"]) == [5, 5, 30, 30] and set(sweep.runs["status"]) == {"ok"}
    cells = pd.read_csv(folder / "analysis" / "grid_late_reach_gap.csv")
    pd.testing.assert_frame_equal(sweep.tables["late_reach_gap"].reset_index(drop=True), cells, check_dtype=False)
    assert set(sweep.tables) == {"late_reach_gap", "winner"}
    assert (folder / "report.md").is_file() and sweep.figures


def test_a_finished_sweep_called_again_runs_nothing(notebook, monkeypatch):
    sweep = notebook["sweep"]
    monkeypatch.chdir(notebook["_folder"])
    raw = yaml.safe_load((sweep.folder / "sweep.yaml").read_text())
    again = sim.run_sweep(raw, out=sweep.folder, quiet=True)  # every run is stored: no cluster is started
    assert (again.outcome.ok, again.outcome.skipped, again.outcome.total) == (0, 4, 4)
    pd.testing.assert_frame_equal(again.runs, sweep.runs)


# --------------------------------------------------------------------------
# load_scenario
# --------------------------------------------------------------------------


def test_no_path_is_the_shipped_duel():
    assert sim.load_scenario() == load_with_set(REPO / "scenarios" / "duel.yaml")
    assert sim.DEFAULT_SCENARIO == REPO / "scenarios" / "duel.yaml"


def test_overrides_mean_what_set_means():
    expected = load_with_set(REPO / "scenarios" / "duel.yaml", ["attention_mean=10", "firms.dialogue.reply_rate=0.5",
                                                               "ranking=chronological", "seed=3"])  # fmt: skip
    typed = {"attention_mean": 10, "firms.dialogue.reply_rate": 0.5, "ranking": "chronological", "seed": 3}
    as_text = {"attention_mean": "10", "firms.dialogue.reply_rate": "0.5", "ranking": "chronological", "seed": "3"}
    numpy = {"attention_mean": np.int64(10), "firms.dialogue.reply_rate": np.float32(0.5), "ranking": "chronological",
             "seed": np.uint8(3)}  # fmt: skip
    for overrides in (typed, as_text, numpy, [f"{k}={v}" for k, v in as_text.items()]):
        loaded = sim.load_scenario("scenarios/duel.yaml", overrides=overrides)
        assert loaded == expected, overrides
    assert expected.attention_mean == 10.0 and expected.firms[1].reply_rate == 0.5 and expected.seed == 3


def test_a_string_value_stays_a_string_where_yaml_would_read_a_mapping():
    loaded = sim.load_scenario(overrides={"description": "push: does it pay?", "firms.broadcast.home": [3, 4]})
    assert loaded.description == "push: does it pay?" and loaded.firms[0].home == (3, 4)


def test_shipped_files_are_found_from_another_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert sim.load_scenario("scenarios/classroom.yaml").name == "classroom"
    with pytest.raises(sim.ScenarioError, match=r"^nowhere\.yaml: file not found$"):
        sim.load_scenario("nowhere.yaml")


@pytest.mark.parametrize(
    "overrides, message",
    [
        ({"attention_mean": -1}, "overrides: attention_mean: must be between 1 and 10000 (got -1)"),
        ({"attention_mean": "lots"}, "overrides: attention_mean: "),
        ({"firms.nobody.reply_rate": 0.5}, "overrides: firms.nobody.reply_rate: no firm named 'nobody'; "
                                           "firms are 'broadcast', 'dialogue'"),
        ({"firms.dialogue.reply_rate": 1.5}, "overrides: firms.dialogue.reply_rate: must be between 0 and 1 (got 1.5)"),
        ({"bogus": 1}, "overrides: bogus: unknown key"),
        ({3: 1}, "overrides: key 3 is not a string"),
        ({"attention_mean": object()}, "overrides: attention_mean: cannot use a object as a scenario value"),
    ],
)  # fmt: skip
def test_bad_overrides_raise_one_line_scenario_errors(overrides, message):
    with pytest.raises(sim.ScenarioError) as caught:
        sim.load_scenario(overrides=overrides)
    text = str(caught.value)
    assert text.startswith(message) and "\n" not in text, text


# --------------------------------------------------------------------------
# run_scenario and save: the command line's tables
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return path


@pytest.fixture(scope="module")
def results(tiny):
    return sim.run_scenario(sim.load_scenario(tiny), replications=REPLICATIONS, seed=SEED, workers=1, progress=False)


@pytest.fixture(scope="module")
def cli_folder(tiny, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    args = [str(tiny), "--out", str(out), "--quiet", "--workers", "1", "--seed", str(SEED), "--replications", str(REPLICATIONS)]
    assert cli.main(args) == 0
    return out


@pytest.fixture(scope="module")
def saved(results, tmp_path_factory) -> Path:
    return results.save(tmp_path_factory.mktemp("api") / "run")


def test_the_tables_have_one_row_per_replication_day_and_firm(results):
    steps, firms = TINY["steps"], len(TINY["firms"])
    assert len(results.timeseries) == REPLICATIONS * steps * firms
    assert len(results.summary) == REPLICATIONS * firms
    assert results.timeseries.groupby(["replication", "firm"]).size().eq(steps).all()
    assert list(results.summary["firm"].unique()) == results.firm_names == ["broadcast", "dialogue"]
    per_firm = results.stats[results.stats["firm"].isin(results.firm_names)]
    assert len(per_firm) == firms * per_firm["metric"].nunique()
    assert list(results.stats.query("firm == '(all firms)'")["metric"]) == ["crossover_day"]  # one pair metric
    assert set(results.stats.query("metric == 'late_reach'")["n"]) == {REPLICATIONS}  # crossover_day may have none
    assert results.means().shape == (results.stats["metric"].nunique(), firms)
    assert results.scenario.seed == SEED and results.scenario.replications == REPLICATIONS  # not the file's 9 and 1
    assert results.metadata["replication_seeds"] == [sim.replication_seed(SEED, r) for r in range(REPLICATIONS)]


def test_the_tables_are_the_command_lines_for_the_same_seed(results, cli_folder):
    pd.testing.assert_frame_equal(results.timeseries, pd.read_parquet(cli_folder / "timeseries.parquet"))
    pd.testing.assert_frame_equal(results.cascades, pd.read_parquet(cli_folder / "cascades.parquet"))
    pd.testing.assert_frame_equal(results.summary, pd.read_csv(cli_folder / "summary.csv"), check_dtype=False, rtol=1e-12)
    pd.testing.assert_frame_equal(results.stats, pd.read_csv(cli_folder / "summary_stats.csv"), check_dtype=False, rtol=1e-12)
    assert results.config == yaml.safe_load((cli_folder / "config.yaml").read_text())


def test_save_writes_the_command_lines_folder(saved, cli_folder):
    def files(folder):
        return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    assert files(saved) == files(cli_folder)
    for name in TABLES:
        assert (saved / name).read_bytes() == (cli_folder / name).read_bytes(), name
    ours, theirs = (json.loads((folder / "metadata.json").read_text()) for folder in (saved, cli_folder))
    assert set(theirs) <= set(ours) and ours["entry_point"] == "sim.run_scenario"
    for key in ("scenario", "seed", "replications", "replication_seeds", "git_revision"):
        assert ours[key] == theirs[key], key
    assert "Traceback" not in (saved / "report.md").read_text()


def test_save_refuses_a_folder_with_files_and_keeps_them(results, saved):
    before = sorted(saved.rglob("*"))
    with pytest.raises(OutputError, match=r"^save: .* already exists and is not an empty folder(; pass overwrite=True .*)?$"):
        results.save(saved)
    assert sorted(saved.rglob("*")) == before


def test_a_path_runs_too_and_the_file_settings_apply(tiny):
    one = sim.run_scenario(tiny, workers=1, progress=False)
    assert one.metadata["seed"] == 9 and len(one.replications) == 1 and one.replications[0].seed == sim.replication_seed(9, 0)


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"replications": 0}, "run_scenario: replications: must be"),
        ({"seed": -1}, "run_scenario: seed: must be"),
        ({"workers": 0}, "run_scenario: workers: must be a whole number of at least 1 (got 0)"),
    ],
)
def test_bad_run_settings_raise_one_line_errors(tiny, settings, message):
    with pytest.raises(sim.ScenarioError) as caught:
        sim.run_scenario(tiny, progress=False, **settings)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


# --------------------------------------------------------------------------
# MarketModel.from_scenario
# --------------------------------------------------------------------------


def test_from_scenario_keeps_run_settings_out_of_the_model(tiny):
    scenario = sim.load_scenario(tiny, overrides={"description": "not a model parameter", "replications": 4})
    with pytest.raises(TypeError, match="multiple values for keyword argument 'seed'"):
        sim.MarketModel(seed=1, **scenario.model_dump())  # the trap: a scenario is more than model parameters
    model = sim.MarketModel.from_scenario(scenario)
    assert model._seed == 9 and model.p.width == 14 and [f.name for f in model.firms] == ["broadcast", "dialogue"]
    assert sim.MarketModel.from_scenario(scenario, seed=7)._seed == 7
    assert sim.MarketModel.from_scenario(scenario, steps=3).p.steps == 3


def test_from_scenario_with_a_replication_seed_is_that_replication(results):
    model = sim.MarketModel.from_scenario(results.scenario, seed=sim.replication_seed(SEED, 1))
    while model.running:
        model.step()
    replication = results.timeseries.query("replication == 1")[list(model.firm_table().columns)].reset_index(drop=True)
    pd.testing.assert_frame_equal(model.firm_table(), replication)


def test_from_scenario_says_what_it_takes():
    with pytest.raises(TypeError, match="takes a Scenario .*not a str"):
        sim.MarketModel.from_scenario("scenarios/duel.yaml")


# --------------------------------------------------------------------------
# run_sweep's input checks (the run itself is the notebook's)
# --------------------------------------------------------------------------


def test_a_bad_sweep_is_one_line_before_anything_runs(tmp_path):
    bad = {"name": "bad", "scenario": "scenarios/duel.yaml", "method": "grid",
           "parameters": {"attention_man": {"values": [5, 10]}}, "outputs": ["winner"]}  # fmt: skip
    with pytest.raises(sim.SweepError) as caught:
        sim.run_sweep(bad, out=tmp_path / "out")
    assert str(caught.value) == "sweep: parameters.attention_man: unknown parameter; did you mean 'attention_mean'?"
    assert not (tmp_path / "out").exists()
    with pytest.raises(sim.SweepError, match="run_sweep: workers: must be a whole number"):
        sim.run_sweep("scenarios/sweeps/grid_attention_pages.yaml", out=tmp_path / "out", workers=0)
    with pytest.raises(sim.SweepError, match=r"missing\.yaml: file not found"):
        sim.run_sweep(tmp_path / "missing.yaml")


# --------------------------------------------------------------------------
# import sim, python -m sim, attention-market
# --------------------------------------------------------------------------


def test_import_sim_is_light_and_every_name_resolves():
    heavy = ("numpy", "pandas", "mesa", "pydantic", "dask", "matplotlib")
    code = f"import sim, sys; print([m for m in {heavy!r} if m in sys.modules])"
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO, env=ENV)
    assert loaded.stdout.strip() == "[]"
    for name in sim.__all__:
        assert getattr(sim, name) is not None, name
    with pytest.raises(AttributeError, match="has no attribute 'nothing'"):
        sim.nothing  # noqa: B018


@pytest.mark.parametrize(
    "command, program",
    [
        ([sys.executable, "-m", "sim"], "python -m sim"),
        ([sys.executable, "run.py"], "python run.py"),
        ([sys.executable, "-m", "sim", "sweep"], "python -m sim sweep"),
    ],
)
def test_help_names_the_command_as_it_was_started(command, program):
    shown = subprocess.run([*command, "--help"], capture_output=True, text=True, cwd=REPO, env=ENV, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.startswith(f"usage: {program} ")
    assert "python run.py" not in shown.stdout or program == "python run.py"


def test_the_console_script_is_the_same_program():
    assert cli.program_name("/venv/bin/attention-market") == "attention-market"
    assert cli.program_name("/repo/sim/__main__.py") == "python -m sim"
    assert cli.program_name("run.py") == "python run.py"
    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["scripts"]
    assert declared == {"attention-market": "sim.cli:main"}
    installed = shutil.which("attention-market")
    if installed is None:
        pytest.skip("attention-market is not installed here (pip install -e .)")
    shown = subprocess.run([installed, "--help"], capture_output=True, text=True, cwd=REPO, env=ENV, timeout=120)
    assert shown.returncode == 0 and shown.stdout.startswith("usage: attention-market "), shown.stderr
