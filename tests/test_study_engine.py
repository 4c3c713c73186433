"""Studies on the sweep engine: worker-count independence, kill and resume, a real Dask cluster
(`dask scheduler` and two `dask worker` processes on loopback) giving a local run's results."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from sim.study.cli import study_main, study_report_main
from sim.study.model import StudyModel
from sim.study.spec import load_study
from sim.sweep.design import build_design
from sim.sweep.store import SweepFolder
from sim.sweep.tasks import make_tasks
from tests.study_helpers import REPO, study_file

TABLES = ("answer.csv", "points.csv", "feature_ranking.csv", "mechanism.csv")


def _runs(out: Path) -> pd.DataFrame:
    folder = SweepFolder(out)
    return folder.read_runs() if folder.runs.exists() else pd.DataFrame(columns=["run_id"])


def _tables(out: Path) -> dict[str, str]:
    analysis = out / "analysis"
    names = sorted({*TABLES, *(p.name for p in analysis.glob("prim_*.csv"))})
    return {name: (analysis / name).read_text() for name in names if (analysis / name).exists()}


def test_one_and_two_workers_give_the_same_runs_and_tables(tmp_path, capsys):
    path = study_file(tmp_path, samples=12)
    for workers in ("1", "2"):
        assert study_main([str(path), "--out", str(tmp_path / workers), "--workers", workers, "--quiet"]) == 0
    assert "24 runs ok, 0 failed, 0 skipped (already done)" in capsys.readouterr().out
    one, two = (_runs(tmp_path / w).drop(columns="wall_time") for w in ("1", "2"))
    assert len(one) == 24
    pd.testing.assert_frame_equal(one, two)
    tables = _tables(tmp_path / "1")
    assert "answer.csv" in tables and any(n.startswith("prim_") for n in tables)
    assert tables == _tables(tmp_path / "2")


def test_quick_uses_the_reduced_design_and_says_so(tmp_path, capsys):
    assert study_main([str(study_file(tmp_path)), "--quick", "--out", str(tmp_path / "q"), "--quiet"]) == 0
    assert "8 runs ok" in capsys.readouterr().out  # quick: 4 points x 2 replications
    report = (tmp_path / "q" / "report.md").read_text()
    assert report.startswith("# Study tiny_study (quick design)") and "**Quick design** (`--quick`): 4 points x 2" in report


def _start(path, out):
    return subprocess.Popen(
        [sys.executable, "run.py", "study", str(path), "--out", str(out), "--workers", "2", "--quiet"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )  # fmt: skip


def _wait_for_runs(out, at_least: int, process, timeout: float = 300.0) -> None:
    deadline = time.monotonic() + timeout
    while len(_runs(out)) < at_least:
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the study made no progress"
        time.sleep(0.2)


def test_a_killed_study_resumes_with_no_lost_or_duplicated_run(tmp_path):
    path = study_file(tmp_path, samples=40)
    out = tmp_path / "out"
    study = load_study(path)
    model = StudyModel(study)
    expected = {t.run_id for t in make_tasks(study.sweep(), build_design(study.sweep()), model)}
    assert len(expected) == 80

    first = _start(path, out)  # kill -9 of the whole process group: no chance to save anything
    _wait_for_runs(out, 20, first)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    after_kill = _runs(out)
    assert 20 <= len(after_kill) < 80 and after_kill["run_id"].is_unique
    assert study_report_main([str(out)]) == 0, "a partial study is reported"
    assert "**Partial study**" in (out / "report.md").read_text()

    second = _start(path, out)  # resume to the end (the dead session's lock is taken over)
    stdout, err = second.communicate(timeout=600)
    assert second.returncode == 0, err
    match = re.search(r"(\d+) runs ok, 0 failed, (\d+) skipped \(already done\)", stdout)
    assert match and int(match.group(2)) == len(after_kill) and int(match.group(1)) == 80 - len(after_kill)
    final = _runs(out)
    assert len(final) == 80 and set(final["run_id"]) == expected and (final["status"] == "ok").all()
    assert "**Partial study**" not in (out / "report.md").read_text()


@pytest.fixture
def dask_cluster(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on loopback, importing this checkout."""
    scheduler_file = tmp_path / "scheduler.json"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    common = dict(cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    processes = [subprocess.Popen(["dask", "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], **common)]  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert time.monotonic() < deadline and processes[0].poll() is None, "the scheduler did not start"
            time.sleep(0.2)
        for k in range(2):
            processes.append(subprocess.Popen(
                ["dask", "worker", "--scheduler-file", str(scheduler_file), "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-dashboard", "--local-directory", str(tmp_path / f"worker{k}")], **common))  # fmt: skip
        from distributed import Client

        with Client(scheduler_file=str(scheduler_file), timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield str(scheduler_file)
    finally:
        for process in reversed(processes):
            os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def test_a_study_on_a_dask_cluster_equals_a_local_run(tmp_path, dask_cluster, capsys):
    path = study_file(tmp_path, samples=12)
    assert study_main([str(path), "--out", str(tmp_path / "cluster"), "--scheduler", dask_cluster, "--quiet"]) == 0
    assert study_main([str(path), "--out", str(tmp_path / "local"), "--workers", "2", "--quiet"]) == 0
    cluster, local = (_runs(tmp_path / n).drop(columns="wall_time") for n in ("cluster", "local"))
    pd.testing.assert_frame_equal(cluster, local)
    assert _tables(tmp_path / "cluster") == _tables(tmp_path / "local")
    session = json.loads((tmp_path / "cluster" / "metadata.json").read_text())["sessions"][0]
    assert session["scheduler"] == dask_cluster and session["worker_threads"] == 2
