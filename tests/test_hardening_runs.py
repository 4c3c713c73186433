"""Scenario runs under faults: no mixed folders, nothing computed lost, no escape from results/, no OOM.

Each case runs ``python run.py`` as a user does (see tests/hardening_helpers.py).
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim import cli
from sim.runs import resources
from sim.runs.folders import FolderBusy, claim_folder
from sim.runs.runner import replication_seed
from sim.scenario import Scenario
from tests.hardening_helpers import driver, env, error_lines, leftovers, run_py, start_py, tiny, write_yaml

SLOW = ["--set", "width=40", "--set", "height=40", "--set", "steps=400", "--replications", "2", "--workers", "1"]


def wait_for(predicate, timeout: float = 180, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


# ------------------------------------------------------------------ one --out, one run


def test_a_run_is_refused_while_another_process_holds_the_same_out(tmp_path):
    out = tmp_path / "x"
    with claim_folder(out) as claim:  # this test process is "the first run"
        (claim.partial / "config.yaml").write_text("seed: 1\n")
        proc = run_py([tiny(tmp_path), "--out", out, "--quiet"], cwd=tmp_path)
        lines = error_lines(proc)
        assert proc.returncode == 2
        assert len(lines) == 1 and f"--out {out}: another run (pid {os.getpid()}" in lines[0], lines
        assert (claim.partial / "config.yaml").read_text() == "seed: 1\n"  # the first run's work is untouched
        assert not out.exists()
    with pytest.raises(FolderBusy):  # the guard itself, in one process: a second claim is refused
        with claim_folder(out):
            with claim_folder(out):
                pass


def test_two_concurrent_runs_with_the_same_out_never_mix(tmp_path):
    """The issue's reproduction: run 2 starts while run 1 computes; exactly one writes, nothing mixes."""
    out = tmp_path / "x"
    scenario = tiny(tmp_path)
    first = start_py([scenario, *SLOW, "--quiet", "--out", out, "--seed", "1"], cwd=tmp_path)
    wait_for(lambda: (tmp_path / ".x.lock").exists() or first.poll() is not None, what="run 1 to take the lock")
    second = run_py([scenario, *SLOW, "--quiet", "--out", out, "--seed", "2"], cwd=tmp_path)
    first_out, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    lines = error_lines(second)
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert "is writing it now" in lines[0] or "already exists" in lines[0], lines
    config = yaml.safe_load((out / "config.yaml").read_text())
    metadata = json.loads((out / "metadata.json").read_text())
    summary = pd.read_csv(out / "summary.csv")
    assert config["seed"] == metadata["seed"] == 1
    assert set(summary["seed"]) == {replication_seed(1, r) for r in range(2)}
    assert leftovers(tmp_path) == []


def test_leftovers_of_a_killed_run_do_not_block_the_next(tmp_path):
    out = tmp_path / "x"
    scenario = tiny(tmp_path)
    victim = start_py([scenario, *SLOW, "--quiet", "--out", out], cwd=tmp_path)
    wait_for(lambda: any(p.name.startswith(".x.partial-") for p in tmp_path.iterdir()), what="the partial folder")
    victim.kill()  # kill -9: no cleanup at all
    victim.communicate(timeout=60)
    assert any(".partial-" in name for name in leftovers(tmp_path))
    proc = run_py([scenario, "--quiet", "--out", out], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert (out / "metadata.json").exists()
    assert leftovers(tmp_path) == []


# ------------------------------------------------------------------ the final write fails

DISK_FULL = """
import errno
import pandas as pd
real = pd.DataFrame.to_parquet
def full(self, path, *args, **kwargs):
    if ".partial-" in str(path):
        raise OSError(errno.ENOSPC, "No space left on device")
    return real(self, path, *args, **kwargs)
pd.DataFrame.to_parquet = full
"""


def test_a_full_disk_at_the_final_write_keeps_the_tables_and_says_where(tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    scenario = tiny(tmp_path)
    proc = subprocess.run(
        [sys.executable, str(driver(tmp_path, DISK_FULL)), scenario, "--quiet", "--workers", "1", "--out", tmp_path / "x"],
        cwd=tmp_path, capture_output=True, text=True, timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).parent.parent), "TMPDIR": str(scratch)},
    )  # fmt: skip
    lines = error_lines(proc)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    line = lines[0]
    assert line.startswith(f"error: writing the results folder {tmp_path / 'x'} failed: No space left on device")
    assert "timeseries.parquet" in line
    recovered = Path(line.split("saved to ")[1].split(" (no figures")[0])
    assert recovered.parent == scratch / "attention-market-recovery"
    assert not (tmp_path / "x").exists() and leftovers(tmp_path) == []
    # nothing computed is lost: the recovered tables equal a clean run's
    clean = run_py([scenario, "--quiet", "--workers", "1", "--out", tmp_path / "clean"], cwd=tmp_path)
    assert clean.returncode == 0, clean.stderr
    for name in ("summary.csv", "config.yaml"):
        assert (recovered / name).read_text() == (tmp_path / "clean" / name).read_text(), name
    pd.testing.assert_frame_equal(
        pd.read_parquet(recovered / "timeseries.parquet"), pd.read_parquet(tmp_path / "clean" / "timeseries.parquet")
    )
    assert json.loads((recovered / "metadata.json").read_text())["recovered"] is True


def _file_size_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail with EFBIG instead of killing
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_real_write_fault_is_one_line_and_leaves_nothing_half_written(tmp_path):
    """A genuine OS error (file size limit, as a full quota gives), no patching: one line, exit 1."""
    scenario = tiny(tmp_path, replications=1)
    (tmp_path / "tmp").mkdir()
    proc = run_py([scenario, "--quiet", "--out", tmp_path / "x"], cwd=tmp_path, preexec_fn=_file_size_limit,
                  env=env(TMPDIR=str(tmp_path / "tmp")))  # fmt: skip
    lines = error_lines(proc)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: writing the results folder {tmp_path / 'x'} failed: ")
    assert "File too large" in lines[0]
    # the recovery folder is on the same limit: it says so and leaves no half-written folder behind
    assert lines[0].endswith("; nothing was kept")
    assert list((tmp_path / "tmp" / "attention-market-recovery").iterdir()) == []
    assert not (tmp_path / "x").exists() and leftovers(tmp_path) == []


SLOW_REPORT = """
import time
from pathlib import Path
import sim.runs.results as results
def slow_report(path, *args, **kwargs):
    Path(path).with_name("report.md").write_text("half")
    (Path(sys.argv[-1]).parent / "writing").write_text("")
    time.sleep(120)
results.write_report = slow_report
"""


def test_sigterm_during_the_final_write_leaves_no_partial_folder(tmp_path):
    out = tmp_path / "x"
    proc = start_py([tiny(tmp_path), "--quiet", "--workers", "1", "--out", out], cwd=tmp_path,
                    script=driver(tmp_path, SLOW_REPORT))
    wait_for(lambda: (tmp_path / "writing").exists() or proc.poll() is not None, what="the final write")
    assert proc.poll() is None, proc.communicate()[1]
    assert any(".partial-" in name for name in leftovers(tmp_path))  # caught in the middle of the write
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143, err
    assert "Traceback" not in err and err.strip() == "terminated (SIGTERM): no results folder was written"
    assert not out.exists() and leftovers(tmp_path) == []


# ------------------------------------------------------------------ the name cannot leave results/


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("../../escape", "without '/'"),
        ("/tmp/absolute-escape", "without '/'"),
        ("..", "must not contain '..'"),
        ("a\x00b", "NUL"),
        ("a\\b", "without '/'"),
    ],
)
def test_a_scenario_name_cannot_leave_results(tmp_path, name, problem):
    work = tmp_path / "work"
    work.mkdir()
    scenario = write_yaml(work / "s.yaml", {**yaml.safe_load(tiny(tmp_path).read_text()), "name": name})
    proc = run_py([scenario.name, "--quiet"], cwd=work)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: s.yaml: name: ") and problem in lines[0], lines
    assert sorted(p.name for p in work.iterdir()) == ["s.yaml"]
    assert not (tmp_path / "escape").exists() and not Path("/tmp/absolute-escape").exists()


def test_a_name_given_with_set_is_checked_too(tmp_path):
    proc = run_py([tiny(tmp_path), "--set", "name=../x", "--quiet"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and lines[0].startswith("error: --set name: must be a plain name"), lines


# ------------------------------------------------------------------ what cannot fit is refused up front


def test_a_world_that_cannot_fit_memory_is_refused_in_one_line(tmp_path):
    proc = run_py([tiny(tmp_path), "--set", "width=5000", "--set", "height=5000", "--quiet"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "5000 x 5000 users" in lines[0] and "GiB of memory" in lines[0] and "--force" in lines[0]
    assert not (tmp_path / "results").exists()


def test_posts_per_day_has_a_realistic_upper_bound_and_defaults_stay(tmp_path):
    proc = run_py([tiny(tmp_path), "--set", "firms.broadcast.posts_per_day=1e9", "--quiet"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and lines == [
        "error: --set firms.broadcast.posts_per_day: must be between 0 and 1000 (got 1000000000.0)"
    ]
    firms = {f.name: f for f in Scenario().firms}
    assert (firms["broadcast"].posts_per_day, firms["dialogue"].posts_per_day) == (6.0, 1.0)
    assert (firms["broadcast"].budget, firms["broadcast"].ads_per_day) == (26.0, 2000)


def test_parallel_replications_are_cut_to_what_fits(monkeypatch, capsys):
    scenario = Scenario(width=300, height=300, replications=4)
    per_run = resources.run_estimate(scenario.model_kwargs()).bytes + resources.PROCESS_BASE
    monkeypatch.setattr(resources, "available_memory", lambda: int(2.5 * per_run))
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    assert cli.plan_workers(scenario, None, force=False) == 2
    assert "running 2 replication(s) at a time, not 4" in capsys.readouterr().err
    with pytest.raises(resources.ResourceError, match="use --workers 2"):
        cli.plan_workers(scenario, 3, force=False)
    assert cli.plan_workers(scenario, 3, force=True) == 3
    monkeypatch.setattr(resources, "available_memory", lambda: per_run // 2)
    with pytest.raises(resources.ResourceError, match="one replication"):
        cli.plan_workers(scenario, None, force=False)


MEASURE = """
import gc, json, sys
from pathlib import Path
from sim.scenario import Scenario
from sim.runs.runner import run_replication

def status(key):
    line = next(l for l in Path("/proc/self/status").read_text().splitlines() if l.startswith(key + ":"))
    return int(line.split()[1]) * 1024

s = Scenario.model_validate(json.loads(sys.argv[1]))
gc.collect()
Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to the current RSS: imports do not count
before = status("VmRSS")
run_replication(s.model_kwargs(), 1, 0, maps=True)
print(status("VmHWM") - before)
"""


@pytest.mark.skipif(not Path("/proc/self/clear_refs").exists(), reason="needs Linux /proc to reset the peak RSS")
def test_the_memory_estimate_bounds_a_measured_run_from_above(tmp_path):
    """Everyone follows both firms and the broadcaster posts 50 a day: the estimate's worst case."""
    config = {"width": 150, "height": 150, "steps": 4, "initial_follow_prob": 1.0,
              "firms": [{"name": "a", "preset": "broadcast", "posts_per_day": 50, "budget": 1000},
                        {"name": "b", "preset": "dialogue"}]}  # fmt: skip
    proc = subprocess.run([sys.executable, "-c", MEASURE, json.dumps(config)], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PYTHONPATH": str(Path(cli.__file__).parent.parent)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    measured = int(proc.stdout.split()[-1])
    estimate = resources.run_estimate(Scenario.model_validate(config).model_kwargs()).bytes
    assert measured <= estimate <= 4 * measured, (measured, estimate)
