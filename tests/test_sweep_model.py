"""Sweeps of the attention market itself: a small Sobol' sweep end to end, worker-count
independence, interruption and resume, the model registry workaround, a remote scheduler."""

from __future__ import annotations

import copyreg
import gc
import json
import os
import re
import signal
import subprocess
import sys
import time
import weakref

import dask
import mesa
import pandas as pd
import pytest
from distributed import LocalCluster

from sim.model.market import MarketModel
from sim.sweep.design import build_design
from sim.sweep.execute import run_sweep
from sim.jobs.models import MarketSweepModel, free_model
from sim.sweep.spec import load_sweep
from sim.sweep.store import SweepFolder
from sim.sweep.tasks import make_tasks
from tests.sweep_helpers import REPO, TINY_DUEL, run_report_cli, run_sweep_cli, sweep_file

SOBOL = {
    "method": "sobol",
    "samples": 3,  # not a power of 2: rounded up to 4, with a warning
    "replications": 2,
    "parameters": {
        "attention_mean": {"bounds": [5, 40]},
        "pages_followed": {"bounds": [0, 200]},
        "firms.broadcast.ads_per_day": {"bounds": [0, 60]},
    },
    "outputs": ["late_reach_gap", "winner", "dialogue.late_reach", "crossover_day"],
}


def test_a_small_sobol_sweep_of_the_model_end_to_end(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_sweep_cli(sweep_file(tmp_path, **SOBOL), "--out", out, "--workers", "2", "--quiet") == 0
    captured = capsys.readouterr()
    assert captured.err.strip() == (
        f"warning: {tmp_path / 'sweep.yaml'}: samples: Sobol' sampling needs a power of 2 (SALib warns otherwise); "
        "using 4 instead of 3"
    )
    stdout = captured.out
    assert "40 runs ok, 0 failed, 0 skipped (already done)" in stdout
    assert f"report: {out / 'report.md'} (40 of 40 runs stored (40 ok, 0 failed))" in stdout

    runs = SweepFolder(out).read_runs()
    expected = ["run_id", "sample", "replication", "seed", "attention_mean", "pages_followed",
                "firms.broadcast.ads_per_day", "late_reach_gap", "winner", "dialogue.late_reach", "crossover_day",
                "wall_time", "status", "error", "traceback"]  # fmt: skip
    assert list(runs.columns) == expected and len(runs) == 40 and runs["run_id"].is_unique
    assert set(runs["winner"]) <= {"broadcast", "dialogue", "tie"}
    assert runs["firms.broadcast.ads_per_day"].dtype == "int64", "an integer field is rounded"
    assert ((runs["attention_mean"] >= 5) & (runs["attention_mean"] <= 40)).all()

    table = pd.read_csv(out / "analysis" / "sobol_late_reach_gap.csv")
    assert list(table.columns) == ["parameter", "S1", "S1_conf", "ST", "ST_conf"]
    assert table["parameter"].tolist() == list(SOBOL["parameters"]) and table[["S1", "ST"]].notna().all().all()
    assert (out / "figures" / "sobol_late_reach_gap.png").stat().st_size > 5000
    noise = pd.read_csv(out / "analysis" / "replication_noise.csv").set_index("output")
    assert 0 <= noise.loc["late_reach_gap", "noise_share"] <= 1.5 and "winner" not in noise.index

    report = (out / "report.md").read_text()
    for needle in ("## Replication noise", "noise_share_of_means", "figures/sobol_late_reach_gap.png",
                   "winner is not a number: not analysed by SALib", "40 of 40 runs stored"):  # fmt: skip
        assert needle in report, needle
    meta = json.loads((out / "metadata.json").read_text())
    assert meta["runs_total"] == 40 and meta["sessions"][0]["runs_ok"] == 40
    assert {"git_revision", "git_dirty", "packages", "command_line"} <= set(meta)
    assert (out / "sweep.yaml").read_text().startswith(f"# resolved sweep tiny_sweep; fingerprint {meta['fingerprint']}")


def test_sweep_report_analyses_a_partial_sweep_and_says_what_it_used(tmp_path, capsys):
    out = tmp_path / "out"
    assert run_sweep_cli(sweep_file(tmp_path, **SOBOL), "--out", out, "--workers", "2", "--quiet") == 0
    folder = SweepFolder(out)
    runs = folder.read_runs()
    kinds = {c: ("string" if runs[c].dtype == object or str(runs[c].dtype) == "str" else "float") for c in runs}
    kinds.update(sample="int", replication="int", seed="int")
    for part in folder.parts():
        part.unlink()
    folder.write_part(runs[runs["sample"] != 7].to_dict("records"), kinds)  # block 1 of 4 loses a point
    capsys.readouterr()
    assert run_report_cli(out) == 0
    stdout = capsys.readouterr().out
    assert stdout.startswith("38 of 40 runs stored (38 ok, 0 failed, 2 not run yet)")
    assert "late_reach_gap: used 3 of 4 Saltelli blocks (30 runs)" in stdout
    assert "Partial sweep" in (out / "report.md").read_text()
    assert pd.read_csv(out / "analysis" / "sobol_late_reach_gap.csv")["ST"].notna().all()


def test_results_do_not_depend_on_the_number_of_workers(tmp_path):
    sweep, model = load_sweep(sweep_file(tmp_path))
    run_sweep(sweep, model, tmp_path / "one", workers=1, quiet=True)
    run_sweep(sweep, model, tmp_path / "two", workers=2, quiet=True)
    one, two = (SweepFolder(tmp_path / name).read_runs().drop(columns="wall_time") for name in ("one", "two"))
    assert len(one) == 8
    pd.testing.assert_frame_equal(one, two)


def _stored(out) -> pd.DataFrame:
    folder = SweepFolder(out)
    return folder.read_runs() if folder.runs.exists() else pd.DataFrame(columns=["run_id"])


def _start(path, out):
    return subprocess.Popen(
        [sys.executable, "run.py", "sweep", str(path), "--out", str(out), "--workers", "2", "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
    )  # fmt: skip


def _wait_for_runs(out, at_least: int, process, timeout: float = 90.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_stored(out)) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sweep made no progress"
        time.sleep(0.1)


def test_interrupt_and_kill_then_resume_lose_and_duplicate_no_run(tmp_path):
    path = sweep_file(tmp_path, replications=4, parameters={
        "attention_mean": {"values": [5, 10, 20, 30, 60]}, "pages_followed": {"values": [0, 50, 109, 200]}})  # fmt: skip
    out = tmp_path / "out"
    sweep, model = load_sweep(path)
    expected = {t.run_id for t in make_tasks(sweep, build_design(sweep), model)}
    assert len(expected) == 80

    first = _start(path, out)  # Ctrl-C: finished runs are saved, exit status 130
    _wait_for_runs(out, 20, first)
    os.kill(first.pid, signal.SIGINT)
    _, err = first.communicate(timeout=60)
    assert first.returncode == 130 and "interrupted:" in err and "run the same command again to resume" in err
    after_interrupt = _stored(out)
    assert 20 <= len(after_interrupt) < 80 and after_interrupt["run_id"].is_unique

    second = _start(path, out)  # kill -9 of the whole process group: no chance to save anything
    _wait_for_runs(out, len(after_interrupt) + 1, second)
    os.killpg(second.pid, signal.SIGKILL)
    second.wait(timeout=30)
    after_kill = _stored(out)
    assert set(after_interrupt["run_id"]) <= set(after_kill["run_id"]) and after_kill["run_id"].is_unique

    third = _start(path, out)  # resume to the end (the dead session's lock is taken over)
    stdout, err = third.communicate(timeout=300)
    assert third.returncode == 0, err
    match = re.search(r"(\d+) runs ok, 0 failed, (\d+) skipped \(already done\)", stdout)
    assert match and int(match.group(2)) == len(after_kill) and int(match.group(1)) == 80 - len(after_kill)
    final = _stored(out)
    assert len(final) == 80 and set(final["run_id"]) == expected and (final["status"] == "ok").all()
    assert len(SweepFolder(out).parts()) == 1, "parts are compacted once the sweep is complete"
    assert not list((out / "runs").glob(".*.tmp"))
    sessions = json.loads((out / "metadata.json").read_text())["sessions"]
    assert [s["interrupted"] for s in sessions] == [True, False]  # the killed session left no record


def test_the_sweep_model_frees_every_model_it_runs():
    """Mesa 3.3 keeps every model alive in a long-lived worker (Agent._ids, copyreg's dispatch table
    holding each grid's cell class); the sweep's model function drops both after each run."""
    kwargs = {k: v for k, v in TINY_DUEL.items() if k not in ("name", "seed")}
    model = MarketSweepModel(load_kwargs(kwargs))
    model({"attention_mean": 10.0}, 0)
    gc.collect()
    registered, dispatch = len(mesa.Agent._ids), len(copyreg.dispatch_table)
    for seed in range(20):
        model({"attention_mean": 10.0 + seed}, seed)
    assert (len(mesa.Agent._ids), len(copyreg.dispatch_table)) == (registered, dispatch)

    leaky = MarketModel(seed=1, **model.base)  # what happens without the workaround
    alive, cell_class = weakref.ref(leaky), leaky.grid.cell_klass
    del leaky
    gc.collect()
    assert alive() is not None and cell_class in copyreg.dispatch_table
    free_model(alive())
    gc.collect()
    assert alive() is None and cell_class not in copyreg.dispatch_table


def load_kwargs(raw: dict) -> dict:
    from sim.scenario import ModelConfig, validate_config

    return validate_config(raw, "test", cls=ModelConfig).model_dump(mode="json")


def test_a_sweep_runs_on_an_existing_scheduler(tmp_path, capsys):
    scratch = str(tmp_path / "cluster-scratch")
    with dask.config.set({"temporary-directory": scratch}), LocalCluster(
        n_workers=1, threads_per_worker=1, processes=True, dashboard_address="127.0.0.1:0",
        scheduler_kwargs={"dashboard": False}, silence_logs=50, local_directory=scratch,
    ) as cluster:  # fmt: skip
        out = tmp_path / "out"
        code = run_sweep_cli(sweep_file(tmp_path), "--out", out, "--scheduler", cluster.scheduler_address,
                             "--workers", "3", "--quiet")  # fmt: skip
        captured = capsys.readouterr()
        assert code == 0, captured.err
    assert "warning: --workers is ignored with --scheduler" in captured.err
    assert "8 runs ok, 0 failed" in captured.out
    session = json.loads((out / "metadata.json").read_text())["sessions"][0]
    assert session["scheduler"] == cluster.scheduler_address and session["worker_threads"] == 1


@pytest.mark.slow
def test_the_shipped_grid_sweep_runs_end_to_end(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(REPO)
    out = tmp_path / "grid"
    assert run_sweep_cli("scenarios/sweeps/grid_attention_pages.yaml", "--out", out, "--quiet") == 0
    winners = pd.read_csv(out / "analysis" / "grid_winner.csv")
    assert set(winners["winner"]) == {"broadcast", "dialogue"}, "the map shows both regimes"
    assert (out / "figures" / "grid_winner.png").exists() and (out / "figures" / "grid_late_reach_gap.png").exists()
