"""Sweep folders under faults: damaged files are set aside and recomputed, a kill loses only runs in flight,
a scheduler without workers or a bad scheduler file or an unwritable --out is one line.

Checked from the command line (``python run.py sweep`` / ``sweep-report``), see tests/hardening_helpers.py.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.sweep.spec import sweep_from_dict
from sim.sweep.store import SweepFolder
from sim.sweep.execute import check_resources, design_points
from sim.jobs.models import Ishigami
from sim.sweep.spec import SweepError
from tests.hardening_helpers import env, error_lines, run_py
from tests.sweep_helpers import sweep_file

OUTPUTS = ["late_reach_gap", "winner", "dialogue.late_reach", "broadcast.late_reach", "crossover_day"]


def small_sweep(tmp_path: Path) -> Path:
    """A grid of 6 points x 1 replication of a tiny duel, 10 days: 6 quick runs."""
    return sweep_file(tmp_path, overrides={"steps": 10}, replications=1,
                      parameters={"attention_mean": {"values": [5, 30, 60]}, "pages_followed": {"values": [0, 109]}})  # fmt: skip


def sweep_cli(args, cwd, timeout=600) -> subprocess.CompletedProcess:
    return run_py(["sweep", *args, "--workers", "1", "--quiet"], cwd=cwd, timeout=timeout)


def test_damaged_files_are_named_set_aside_and_recomputed(tmp_path):
    sweep = small_sweep(tmp_path)
    out = tmp_path / "out"
    first = sweep_cli([sweep, "--out", out], cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    folder = SweepFolder(out)
    original = folder.read_runs().set_index("run_id")
    sweep_text = folder.sweep_yaml.read_text()
    assert len(original) == 6

    # one part per run, then four parts damaged four ways, plus the design and the metadata
    rows = original.reset_index().to_dict("records")
    kinds = {c: ("string" if c in ("run_id", "winner", "status", "error", "traceback") else
                 "int" if c in ("sample", "replication", "seed") else "float") for c in original.reset_index().columns}  # fmt: skip
    for path in folder.parts():
        path.unlink()
    parts = [folder.write_part([row], kinds) for row in rows]
    parts[0].write_bytes(parts[0].read_bytes()[:40])  # truncated
    parts[1].write_bytes(os.urandom(300))  # garbled
    parts[2].write_bytes(b"")  # zero bytes
    pd.DataFrame({"something": [1, 2]}).to_parquet(parts[3])  # wrong schema
    folder.design_parquet.write_bytes(b"PAR1 garbage")
    folder.metadata_json.write_text("{ not json")

    report = run_py(["sweep-report", out], cwd=tmp_path)
    lines = error_lines(report)
    assert report.returncode == 0, report.stderr
    warnings = [line for line in lines if line.startswith("warning: ")]
    for path in (*parts[:4], folder.design_parquet, folder.metadata_json):
        assert sum(line.startswith(f"warning: {path}: ") and f"set aside as {path.name}.bad" in line
                   for line in warnings) == 1, (path, warnings)  # fmt: skip
    assert "2 of 6 runs stored (2 ok, 0 failed, 4 not run yet)" in report.stdout
    assert (out / "design.parquet").exists() and (out / "report.md").exists()

    folder.sweep_yaml.write_text("name: [unclosed\n")
    report = run_py(["sweep-report", out], cwd=tmp_path)
    assert report.returncode == 2
    assert [line for line in error_lines(report) if line.startswith("error: ")] == [
        f"error: {folder.sweep_yaml}: unreadable, set aside as sweep.yaml.bad; restore it with python run.py "
        f"sweep SWEEP.yaml --out {out} (the same sweep file), then run sweep-report again"
    ]

    # resume: the four lost runs run again, the same numbers come back, sweep.yaml is rewritten
    again = sweep_cli([sweep, "--out", out], cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert "4 runs ok, 0 failed, 2 skipped (already done)" in again.stdout
    runs = SweepFolder(out).read_runs().set_index("run_id")
    pd.testing.assert_frame_equal(runs.loc[original.index, OUTPUTS], original[OUTPUTS])
    assert folder.sweep_yaml.read_text() == sweep_text
    assert "Traceback" not in again.stderr


LOGGED_SWEEP = """
import json, os, sys, time
from pathlib import Path
from sim.sweep.execute import run_sweep
from sim.jobs.models import Ishigami
from sim.sweep.spec import sweep_from_dict

LOG = Path(sys.argv[1]) / "finished.log"

class Logged(Ishigami):
    # a run takes 0.3 s; the worker notes its seed just before handing the row back
    def __call__(self, params, seed):
        time.sleep(0.3)
        out = super().__call__(params, seed)
        with open(LOG, "a") as handle:
            handle.write(f"{seed}\\n")
        return out

if __name__ == "__main__":
    raw = {"name": "logged", "method": "grid", "replications": 1, "outputs": ["y"],
           "parameters": {"x1": {"values": [i / 10 for i in range(40)]}, "x2": {"values": [0.5]}, "x3": {"values": [0.2]}}}
    sweep, model = sweep_from_dict(raw, "logged", model=Logged())
    run_sweep(sweep, model, Path(sys.argv[1]) / "out", workers=2, quiet=True)
"""


def test_a_killed_sweep_loses_only_the_runs_in_flight(tmp_path):
    script = tmp_path / "logged.py"
    script.write_text(LOGGED_SWEEP)
    log = tmp_path / "finished.log"
    proc = subprocess.Popen([sys.executable, str(script), str(tmp_path)], cwd=tmp_path, env=env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while not (log.exists() and len(log.read_text().split()) >= 8):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()[1][-2000:]
        time.sleep(0.05)
    finished = set(log.read_text().split())
    os.killpg(proc.pid, signal.SIGKILL)  # kill -9 of the sweep and its local workers, no cleanup
    proc.communicate(timeout=60)
    stored = SweepFolder(tmp_path / "out").read_runs()
    lost = finished - ({str(s) for s in stored["seed"]} if len(stored) else set())
    # in flight: at most one run per worker between its return and the write (2 workers), one in the write
    assert len(lost) <= 3, (len(finished), len(stored), lost)
    assert stored["run_id"].is_unique


def test_a_scheduler_without_workers_is_reported_after_the_timeout(tmp_path):
    scheduler_file = tmp_path / "scheduler.json"
    scheduler = subprocess.Popen(["dask", "scheduler", "--scheduler-file", str(scheduler_file), "--no-dashboard",
                                  "--port", "0"], cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 env=env())  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while not scheduler_file.exists():
            assert scheduler.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        time.sleep(0.5)
        proc = run_py(["sweep", small_sweep(tmp_path), "--scheduler", scheduler_file, "--wait-workers", "3",
                       "--out", tmp_path / "out", "--quiet"], cwd=tmp_path)  # fmt: skip
        lines = error_lines(proc)
        assert proc.returncode == 2 and len(lines) == 1, proc.stderr
        address = json.loads(scheduler_file.read_text())["address"]
        assert lines[0] == (f"error: --scheduler {scheduler_file}: the scheduler has no workers (waited 3 s); "
                            f"start some with: dask worker {address}")  # fmt: skip
    finally:
        scheduler.terminate()
        scheduler.wait(timeout=60)


@pytest.mark.parametrize(
    ("content", "needle"),
    [("{ not json", "not a readable scheduler file (JSONDecodeError"), ('{"id": 3}', "holds no address (got 'None')")],
)
def test_a_malformed_scheduler_file_is_one_line(tmp_path, content, needle):
    (tmp_path / "scheduler.json").write_text(content)
    proc = run_py(["sweep", small_sweep(tmp_path), "--scheduler", "scheduler.json", "--quiet"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: --scheduler scheduler.json: ") and needle in lines[0], lines


def test_an_unwritable_out_is_one_line(tmp_path):
    if os.geteuid() == 0:  # root writes through permissions: use a file system that refuses everyone
        out = Path("/sys/attention-market-sweep-out")
    else:
        (tmp_path / "ro").mkdir(mode=0o555)
        out = tmp_path / "ro" / "out"
    proc = run_py(["sweep", small_sweep(tmp_path), "--out", out, "--quiet", "--workers", "1"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: --out {out}: cannot write there: "), lines


def test_sweeps_that_cannot_fit_memory_are_refused_before_drawing(tmp_path):
    base = {"name": "big", "method": "sobol", "samples": 2**23, "outputs": ["y"],
            "parameters": {k: {"bounds": [-3.0, 3.0]} for k in Ishigami.KEYS}}  # fmt: skip
    sweep, model = sweep_from_dict(base, "big.yaml", model=Ishigami())
    assert design_points(sweep) == 2**23 * 5
    with pytest.raises(SweepError, match=r"big.yaml: sobol sweep of 41,943,040 points .* --force"):
        check_resources(sweep, model, workers=None)
    check_resources(sweep, model, workers=None, force=True)  # --force lets it through
    grid = {**base, "method": "grid", "parameters": {k: {"values": list(range(100))} for k in Ishigami.KEYS}}
    grid.pop("samples")
    sweep, model = sweep_from_dict({**grid, "replications": 100}, "grid.yaml", model=Ishigami())
    with pytest.raises(SweepError, match="grid sweep of 1,000,000 points x 100 replication"):
        check_resources(sweep, model, workers=None)


def test_a_huge_sobol_sweep_is_refused_from_the_command_line(tmp_path):
    path = small_sweep(tmp_path)
    raw = yaml.safe_load(path.read_text())
    raw.update(method="sobol", samples=2**23, parameters={"attention_mean": {"bounds": [5, 60]},
                                                          "pages_followed": {"bounds": [0, 200]}})  # fmt: skip
    path.write_text(yaml.safe_dump(raw))
    proc = run_py(["sweep", path, "--out", tmp_path / "out", "--quiet"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "sobol sweep of 33,554,432 points" in lines[0] and "--force" in lines[0]
    assert not (tmp_path / "out").exists()
