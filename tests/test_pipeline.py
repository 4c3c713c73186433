"""The scenario-run pipeline: results folder, reproducibility, bad input, interruption."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import cli
from sim.runs import results
from sim.model.outputs import FIRM_COLUMNS

REPO = Path(__file__).resolve().parent.parent
TINY = {
    "name": "tiny",
    "description": "A tiny duel for tests.",
    "seed": 5,
    "replications": 2,
    "width": 14,
    "height": 10,
    "steps": 40,
    "home_radius": 2,
    "firms": [
        {"name": "broadcast", "preset": "broadcast", "ads_per_day": 30, "budget": 6.3},
        {"name": "dialogue", "preset": "dialogue", "budget": 3},
    ],
}
SUMMARY_COLUMNS = [
    "replication", "seed", "firm", "early_reach", "late_reach", "crossover_day", "reach_per_spend",
    "followers_final", "trust_final", "max_cascade", "cumulative_reach_final",
]  # fmt: skip
FIGURES = ["reach", "followers", "trust_fatigue", "reach_by_channel", "cascade_ccdf", "follow_map", "attention"]


@pytest.fixture
def tiny(tmp_path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(TINY, sort_keys=False))
    return path


def run_cli(*args) -> int:
    return cli.main([str(a) for a in args])


@pytest.fixture
def finished(tiny, tmp_path) -> Path:
    out = tmp_path / "out"
    assert run_cli(tiny, "--out", out, "--quiet", "--workers", "1") == 0
    return out


def test_results_folder_holds_every_file_with_the_specified_columns(finished):
    for name in ("config.yaml", "metadata.json", "timeseries.parquet", "summary.csv", "summary_stats.csv",
                 "cascades.parquet", "report.md"):
        assert (finished / name).stat().st_size > 0, name
    for figure in FIGURES:
        assert (finished / "figures" / f"{figure}.png").stat().st_size > 1000, figure
    timeseries = pd.read_parquet(finished / "timeseries.parquet")
    assert ["replication", *FIRM_COLUMNS] == list(timeseries.columns[: len(FIRM_COLUMNS) + 1])
    assert {"platform_overload", "platform_attention_used"} <= set(timeseries.columns)
    assert len(timeseries) == 2 * 2 * 40
    summary = pd.read_csv(finished / "summary.csv")
    assert list(summary.columns) == SUMMARY_COLUMNS and len(summary) == 4
    stats = pd.read_csv(finished / "summary_stats.csv")
    assert {"firm", "metric", "n", "mean", "std", "ci95_low", "ci95_high"} <= set(stats.columns)
    assert set(stats["metric"]) >= {"early_reach", "late_reach", "max_cascade"}
    cascades = pd.read_parquet(finished / "cascades.parquet")
    assert {"replication", "item", "firm", "cascade_size"} <= set(cascades.columns)
    meta = json.loads((finished / "metadata.json").read_text())
    for key in ("seed", "replication_seeds", "command_line", "packages", "git_revision", "git_dirty",
                "started_utc", "wall_time_per_replication"):
        assert key in meta, key
    assert meta["packages"]["mesa"] == "3.3.1" and len(meta["replication_seeds"]) == 2
    report = (finished / "report.md").read_text()
    assert "## Headline" in report and "![reach](figures/reach.png)" in report
    config = yaml.safe_load((finished / "config.yaml").read_text())
    assert config["attention_mean"] == 30 and config["firms"][0]["posts_per_day"] == 6


def test_default_folder_name_has_timestamp_and_config_hash(tiny, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert run_cli(tiny, "--quiet", "--replications", "1", "--set", "steps=5") == 0
    (folder,) = (tmp_path / "results" / "tiny+steps=5").iterdir()  # the name shows the --set (issue 23)
    stamp, digest = folder.name.split("-")
    assert stamp.endswith("Z") and len(stamp) == 16 and len(digest) == 8


def test_summary_is_byte_identical_whatever_the_number_of_workers(tiny, tmp_path, finished):
    out2 = tmp_path / "two"
    assert run_cli(tiny, "--out", out2, "--quiet", "--workers", "2") == 0
    assert (finished / "summary.csv").read_bytes() == (out2 / "summary.csv").read_bytes()


def test_resolved_config_reproduces_the_run(finished, tmp_path):
    again = tmp_path / "again"
    assert run_cli(finished / "config.yaml", "--out", again, "--quiet") == 0
    assert (finished / "summary.csv").read_bytes() == (again / "summary.csv").read_bytes()


def test_different_seed_gives_different_numbers(tiny, finished, tmp_path):
    other = tmp_path / "other"
    assert run_cli(tiny, "--out", other, "--quiet", "--seed", "6") == 0
    assert (finished / "summary.csv").read_bytes() != (other / "summary.csv").read_bytes()


BAD_YAML = "width: 10\nheight: [1,\nsteps: 3\n"


@pytest.mark.parametrize(
    "content,args,needle",
    [
        (None, ["missing.yaml"], "missing.yaml"),
        (BAD_YAML, [], "line"),
        ("attention_mena: 3\n", [], "did you mean 'attention_mean'"),
        ("steps: many\n", [], "steps"),
        ("trust0: 1.5\n", [], "between 0 and 1"),
        ("{}\n", ["--set", "firms.nobody.budget=3"], "no firm named 'nobody'"),
        ("{}\n", ["--replications", "0"], "--replications"),
        ("{}\n", ["--out", "FILE/inside"], "--out"),
        ("{}\n", ["--workers", "0"], "--workers"),
        ("{}\n", ["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_input_gives_one_line_exit_2_and_no_folder(tmp_path, content, args, needle):
    scenario = tmp_path / "s.yaml"
    if content is not None:
        scenario.write_text(content)
        args = [str(scenario), *args]
    (tmp_path / "FILE").write_text("a file, not a folder")
    args = [a.replace("FILE", str(tmp_path / "FILE")) for a in args]
    proc = subprocess.run(
        [sys.executable, str(REPO / "run.py"), *args, "--quiet"],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "results").exists()


def test_failure_while_writing_leaves_no_folder(tiny, tmp_path, monkeypatch):
    def explode(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(results, "write_report", explode)
    out = tmp_path / "out"
    assert run_cli(tiny, "--out", out, "--quiet") == 130
    assert not out.exists()
    assert not any(tmp_path.glob(".out*"))


def test_ctrl_c_wrapped_by_a_compiled_kernel_is_an_interrupt_not_a_traceback(tiny, tmp_path, monkeypatch, capsys):
    """A SIGINT while numba runs Python inside a compiled call (unpickling a cached kernel on its first
    call, as in a fresh clone) surfaces as a SystemError caused by the KeyboardInterrupt."""
    from sim.model import market

    def interrupted_in_a_kernel(*args, **kwargs):
        try:
            raise KeyboardInterrupt
        except KeyboardInterrupt as ki:
            raise SystemError("CPUDispatcher(<function _assemble>) returned a result with an exception set") from ki

    monkeypatch.setattr(market.fd, "assemble", interrupted_in_a_kernel)
    out = tmp_path / "out"
    assert run_cli(tiny, "--out", out, "--quiet", "--workers", "1") == 130
    assert capsys.readouterr().err.strip().splitlines()[-1] == "interrupted: no results folder was written"
    assert not out.exists()

    def plain_system_error(*args, **kwargs):
        raise SystemError("not an interrupt")

    monkeypatch.setattr(market.fd, "assemble", plain_system_error)
    with pytest.raises(SystemError, match="not an interrupt"):  # other SystemErrors are not swallowed
        run_cli(tiny, "--out", out, "--quiet", "--workers", "1")


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_during_replications_leaves_no_folder(tmp_path, workers):
    scenario = tmp_path / "slow.yaml"
    # minutes of work, so the interrupt lands mid-run even on a fast or a loaded machine (imports done)
    scenario.write_text(yaml.safe_dump({**TINY, "width": 60, "height": 60, "steps": 8000, "replications": 4}))
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "run.py"), str(scenario), "--out", str(tmp_path / "out"), "--workers", workers],
        cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    time.sleep(6)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "interrupted" in err
    assert not (tmp_path / "out").exists()
    assert not any(p.name.endswith(".partial") for p in tmp_path.iterdir())


def test_list_shows_every_shipped_scenario(capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    assert run_cli("list") == 0
    out = capsys.readouterr().out
    for name in ("duel", "no_fatigue", "chronological", "scarce_attention", "abundant_attention",
                 "three_firms", "big_market", "classroom"):
        assert f"scenarios/{name}.yaml" in out


def test_every_shipped_scenario_loads():
    from sim.scenario import load_scenario

    for path in (REPO / "scenarios").glob("*.yaml"):
        scenario = load_scenario(path)
        assert scenario.description, path


def test_a_ctrl_c_swallowed_by_a_finalizer_is_raised_again():
    """A SIGINT landing in a finalizer or ctypes callback (numba/llvmlite compiling
    the kernels) is "ignored" by Python; the command line's hook raises it again."""
    from types import SimpleNamespace

    with pytest.raises(KeyboardInterrupt):
        cli.pass_on_lost_interrupts(SimpleNamespace(exc_value=KeyboardInterrupt()))
        for _ in range(100_000):  # the pending interrupt fires at a bytecode boundary
            pass
