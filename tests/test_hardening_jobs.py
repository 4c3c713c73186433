"""The newer long jobs (calibrate, study, validate) under faults, as sweeps already are (issue 23).

A bad file or argument is one line and exit 2; two processes on one --out
cannot mix their results; a damaged folder is repaired or refused in one
line; a full disk or a read-only folder is one line that keeps what was
done; too little memory fails at once. Each case here failed before the
jobs shared `sim.jobs`.
"""

from __future__ import annotations

import errno
import json
import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import yaml

from sim.calibration.engine import stored_generations
from sim.calibration.folder import CalibrationFolder
from sim.calibration.spec import CalibrationError, calibration_from_dict
from sim.cli import main
from sim.runs.folders import claim_folder
from sim.study.spec import StudyError, load_study
from tests.hardening_helpers import driver, env, error_lines, leftovers, run_py, start_py, tiny, write_yaml
from tests.study_helpers import REPO, stored_study, study_file

CALIBRATION = {
    "name": "tiny", "scenario": str(REPO / "scenarios" / "duel.yaml"), "overrides": {"width": 8, "height": 8, "steps": 20},
    "facts": "default", "use_facts": ["organic_reach", "feed_read_share"],
    "parameters": {"appeal_value": {"bounds": [0.02, 0.6]}}, "population": 4, "generations": 1, "seed": 1,
    "predictive_draws": 2,
}  # fmt: skip


def calibration_file(tmp_path: Path, **changes) -> Path:
    return write_yaml(tmp_path / "calibration.yaml", {**CALIBRATION, **changes})


def one_error(capsys) -> str:
    lines = [line for line in capsys.readouterr().err.strip().splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> tuple[Path, Path]:
    """A finished one-generation calibration folder (no report) and its calibration file."""
    where = tmp_path_factory.mktemp("calibrated")
    path = calibration_file(where)
    out = where / "out"
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]) == 0
    assert stored_generations(out / "history.db") == 1
    return path, out


def copy_of(calibrated, tmp_path: Path) -> Path:
    out = tmp_path / "out"
    shutil.copytree(calibrated[1], out)
    return out


# ------------------------------------------------------------------ calibration: lock, report, repair


def test_a_second_calibrate_on_the_same_out_is_refused_in_one_line(tmp_path, capsys):
    out = tmp_path / "out"
    holder = CalibrationFolder(out)
    holder.lock()  # a live calibrate (this process) holds the folder
    try:
        code = main(["calibrate", str(calibration_file(tmp_path)), "--out", str(out), "--workers", "1", "--quiet"])
        assert code == 2
        assert f"--out {out}: another calibration is running on it (pid {os.getpid()}" in one_error(capsys)
        assert not (out / "history.db").exists() and not (out / "calibration.yaml").exists()
    finally:
        holder.unlock()


def test_calibrate_report_writes_every_file_from_one_generation(calibrated, tmp_path, monkeypatch):
    """A calibrate adding a generation while the report runs: every file stays of the generation it started with."""
    import sim.calibration.report as report

    path, _ = calibrated
    out = copy_of(calibrated, tmp_path)
    more = write_yaml(tmp_path / "more.yaml", {**yaml.safe_load(path.read_text()), "generations": 2})
    assert main(["calibrate", str(more), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]) == 0
    assert stored_generations(out / "history.db") == 2
    monkeypatch.setattr(report, "stored_generations", lambda db: 1, raising=False)  # the report began before gen 2
    assert main(["calibrate-report", str(out), "--workers", "1"]) == 0
    assert set(pd.read_parquet(out / "posterior.parquet")["generation"]) == {0}
    assert "generation 1," in yaml.safe_load((out / "calibrated.yaml").read_text())["description"]


def _empty_version(db: Path) -> None:
    db.unlink()
    with sqlite3.connect(db) as connection:  # what a kill 10-20 ms after pyabc created the file leaves
        connection.execute("CREATE TABLE version (version_num VARCHAR(32) NOT NULL)")


@pytest.mark.parametrize(
    ("damage", "needle"),
    [
        (_empty_version, "holds no pyabc version"),
        (lambda db: db.write_bytes(db.read_bytes()[:100]), "unreadable"),
        (lambda db: db.write_bytes(b"garbage" * 100), "unreadable"),
    ],
    ids=["empty-version-table", "truncated", "garbage"],
)
def test_a_damaged_history_is_set_aside_and_sampling_starts_again(calibrated, tmp_path, capsys, damage, needle):
    path, _ = calibrated
    out = copy_of(calibrated, tmp_path)
    damage(out / "history.db")
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"warning: {out / 'history.db'}: {needle}" in err, err
    assert "set aside as history.db.bad" in err
    assert stored_generations(out / "history.db") == 1 and (out / "history.db.bad").exists()


def test_a_history_that_is_a_folder_is_one_line(calibrated, tmp_path, capsys):
    path, _ = calibrated
    out = copy_of(calibrated, tmp_path)
    (out / "history.db").unlink()
    (out / "history.db").mkdir()
    assert main(["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert "history.db is a folder" in one_error(capsys)
    assert main(["calibrate-report", str(out)]) == 2
    assert "history.db is a folder" in one_error(capsys)


def test_garbled_calibration_yaml_and_metadata_are_set_aside(calibrated, tmp_path, capsys):
    path, _ = calibrated
    out = copy_of(calibrated, tmp_path)
    (out / "calibration.yaml").write_text("{{{ not yaml")
    assert main(["calibrate-report", str(out)]) == 2  # nothing to rebuild from: one line saying how to restore it
    line = one_error(capsys)
    assert "calibration.yaml: unreadable (" in line and f"calibrate FILE --out {out}" in line
    command = ["calibrate", str(path), "--out", str(out), "--workers", "1", "--quiet", "--no-report"]
    assert main(command) == 0  # metadata.json records this calibration's fingerprint: rewritten from the file
    err = capsys.readouterr().err
    assert "Traceback" not in err and "set aside as calibration.yaml.bad" in err
    assert yaml.safe_load((out / "calibration.yaml").read_text())["name"] == "tiny"
    (out / "metadata.json").write_text("[1, 2")
    assert main(command) == 0
    err = capsys.readouterr().err
    assert "Traceback" not in err and "metadata.json: unreadable" in err and "set aside as metadata.json.bad" in err
    assert isinstance(json.loads((out / "metadata.json").read_text())["sessions"], list)
    (out / "calibration.yaml").write_text("{{{ not yaml")  # both damaged: nothing vouches for history.db
    assert main(command) == 2
    assert "cannot be checked; use another --out" in capsys.readouterr().err
    assert stored_generations(out / "history.db") == 1


def test_calibrate_report_on_a_full_disk_is_one_line_and_leaves_no_temporary_file(calibrated, tmp_path, capsys,
                                                                                   monkeypatch):  # fmt: skip
    out = copy_of(calibrated, tmp_path)
    real = pd.DataFrame.to_parquet

    def full(self, target, *args, **kwargs):
        if str(target).endswith(".tmp"):
            Path(target).write_bytes(b"half")
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(self, target, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_parquet", full)
    assert main(["calibrate-report", str(out), "--workers", "1"]) == 1
    line = one_error(capsys)
    assert line.startswith("error: writing failed: No space left on device") and "report was not rebuilt" in line
    assert not list(out.rglob("*.tmp")) and stored_generations(out / "history.db") == 1


def _file_size_limit():
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # writes past the limit fail (EFBIG), as on a full quota
    resource.setrlimit(resource.RLIMIT_FSIZE, (20_000, 20_000))


def test_a_full_disk_at_the_start_of_calibrate_is_one_line_and_the_rerun_works(tmp_path):
    path = calibration_file(tmp_path)
    args = ["calibrate", path, "--out", tmp_path / "out", "--workers", "1", "--quiet", "--no-report"]
    proc = run_py(args, cwd=tmp_path, preexec_fn=_file_size_limit)
    lines = error_lines(proc)
    assert proc.returncode == 1 and len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: writing failed: ") and "history.db" in lines[0], lines
    assert lines[0].endswith("; nothing was saved yet"), lines  # no generation was finished
    again = run_py(args, cwd=tmp_path)
    assert again.returncode == 0 and "Traceback" not in again.stderr, again.stderr
    assert stored_generations(tmp_path / "out" / "history.db") == 1


# ------------------------------------------------------------------ study and validate folders


def test_a_study_whose_runs_or_analysis_is_a_file_is_one_line(tmp_path, capsys, monkeypatch):
    import sim.sweep.execute
    from sim.study.cli import run_study

    monkeypatch.setattr(sim.sweep.execute, "run_sweep", lambda *a, **k: None)  # prepare the folder, run nothing
    path, out = study_file(tmp_path), tmp_path / "out"
    run_study(load_study(path), out)
    shutil.rmtree(out / "runs")
    (out / "runs").write_text("not a folder")
    assert main(["study", str(path), "--out", str(out), "--workers", "1", "--quiet"]) == 2
    assert f"--out {out}: runs is a file, not a folder" in one_error(capsys)

    folder, _ = stored_study(tmp_path)
    (folder / "analysis").write_text("not a folder")
    assert main(["study-report", str(folder)]) == 2
    assert "analysis is a file, not a folder" in one_error(capsys)


def test_a_full_disk_during_a_study_is_one_line_and_the_rerun_finishes(tmp_path, capsys, monkeypatch):
    from sim.sweep.store import SweepFolder

    real = SweepFolder.write_part
    monkeypatch.setattr(SweepFolder, "write_part", lambda self, rows, kinds: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device", str(self.runs / ".part-00000.parquet.tmp"))))
    path, out = study_file(tmp_path, samples=4, replications=1), tmp_path / "out"
    command = ["study", str(path), "--out", str(out), "--workers", "1", "--quiet"]
    assert main(command) == 1
    line = one_error(capsys)
    assert line.startswith("error: writing failed: No space left on device") and f"saved in {out}" in line
    monkeypatch.setattr(SweepFolder, "write_part", real)
    assert main(command) == 0 and (out / "report.md").exists()
    assert len(SweepFolder(out).read_runs()) == 4


def test_validate_on_a_busy_out_is_one_line_before_running(tmp_path):
    out = tmp_path / "v"
    with claim_folder(out):  # this process writes the folder now
        started = time.perf_counter()
        proc = run_py(["validate", tiny(tmp_path, steps=60), "--quiet", "--workers", "1", "--out", out], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: --out {out}: another run (pid {os.getpid()}") and "is writing it now" in lines[0]
    assert time.perf_counter() - started < 60


def test_validate_on_a_full_disk_is_one_line_and_keeps_no_partial_folder(tmp_path, capsys, monkeypatch):
    real = pd.DataFrame.to_csv

    def full(self, target=None, *args, **kwargs):
        if ".partial-" in str(target):
            raise OSError(errno.ENOSPC, "No space left on device", str(target))
        return real(self, target, *args, **kwargs)

    monkeypatch.setattr(pd.DataFrame, "to_csv", full)
    out = tmp_path / "v"
    assert main(["validate", str(tiny(tmp_path, steps=60)), "--quiet", "--workers", "1", "--out", str(out)]) == 1
    line = one_error(capsys)
    assert line.startswith(f"error: writing the results folder {out} failed: No space left on device")
    assert not out.exists() and leftovers(tmp_path) == []


def unwritable() -> Path:
    """A folder nobody may create, root included (a read-only --out's parent)."""
    return Path("/sys/attention-market-out") if os.geteuid() == 0 else Path("/proc/attention-market-out")


@pytest.mark.parametrize("command", ["calibrate", "study"])
def test_a_read_only_out_is_one_line(tmp_path, capsys, command):
    path = calibration_file(tmp_path) if command == "calibrate" else study_file(tmp_path)
    assert main([command, str(path), "--out", str(unwritable()), "--workers", "1", "--quiet"]) == 2
    assert one_error(capsys).startswith(f"error: --out {unwritable()}: cannot write there: ")


def _read_only(monkeypatch, root: Path) -> None:
    """Every write below ``root`` fails as on a read-only mount (root ignores permissions)."""
    import io

    real_open, real_io_open = os.open, io.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).startswith(str(root)) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT):
            raise OSError(errno.EROFS, "Read-only file system", str(path))
        return real_open(path, flags, *args, **kwargs)

    def refuse_io(file, mode="r", *args, **kwargs):
        if str(file).startswith(str(root)) and any(c in mode for c in "wax+"):
            raise OSError(errno.EROFS, "Read-only file system", str(file))
        return real_io_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(os, "open", refuse)
    monkeypatch.setattr(io, "open", refuse_io)


def test_report_commands_on_a_read_only_folder_are_one_line(calibrated, tmp_path, capsys, monkeypatch):
    study, _ = stored_study(tmp_path)
    calibration = copy_of(calibrated, tmp_path)
    _read_only(monkeypatch, tmp_path)
    assert main(["study-report", str(study)]) == 2
    assert "cannot write there: Read-only file system" in one_error(capsys)
    assert main(["calibrate-report", str(calibration)]) == 2
    assert "cannot write there: Read-only file system" in one_error(capsys)


# ------------------------------------------------------------------ memory


def _address_space(limit: int):
    return lambda: resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


@pytest.mark.parametrize("command", ["calibrate", "study"])
def test_too_little_address_space_fails_at_once_in_one_line(tmp_path, command):
    path = calibration_file(tmp_path) if command == "calibrate" else study_file(tmp_path)
    try:
        proc = run_py([command, path, "--out", tmp_path / "out", "--workers", "1"], cwd=tmp_path, timeout=60,
                      preexec_fn=_address_space(500_000_000))  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail(f"{command} under a 500 MB address-space limit did not stop within 60 s")
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert lines[0].startswith(f"error: {command}: the address-space limit (ulimit -v) is 476.8 MiB"), lines


SMALL_MACHINE = """
import sim.runs.resources as resources
resources.available_memory = lambda: 4 * 2**30
"""


def test_a_huge_study_is_refused_before_drawing_its_design(tmp_path):
    path = study_file(tmp_path, samples=10_000_000)
    script = driver(tmp_path, SMALL_MACHINE)
    try:
        proc = subprocess.run([sys.executable, str(script), "study", str(path), "--out", str(tmp_path / "out")],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60, env=env())  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("a 30-million-run study was prepared for more than 60 s instead of being refused")
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr
    assert "lhs sweep of 10,000,000 points x 2 replication(s)" in lines[0] and "--force" in lines[0]
    assert not (tmp_path / "out").exists()


SLOW_DESIGN = """
import time
from pathlib import Path
import sim.sweep.design as design
def slow(*args, **kwargs):
    Path("preparing").write_text("")
    time.sleep(120)
design.build_design = slow
"""


def test_sigterm_while_a_study_prepares_names_no_folder_that_does_not_exist(tmp_path):
    out = tmp_path / "out"
    proc = start_py(["study", study_file(tmp_path), "--out", out, "--workers", "1", "--quiet"], cwd=tmp_path,
                    script=driver(tmp_path, SLOW_DESIGN))  # fmt: skip
    deadline = time.monotonic() + 120
    while not (tmp_path / "preparing").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    assert proc.poll() is None, proc.communicate()[1]
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert "Traceback" not in err and not out.exists()
    assert err.strip() == "interrupted; nothing was saved yet", err
    assert proc.returncode == 130


# ------------------------------------------------------------------ bad files


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"bands": [{"id": "organic_reach", "low": 0.1, "high": 0.2, "quantity": "organic_reach_per_post"}]},
         "bands: calibrate writes this key into OUT/calibration.yaml"),
        ({"base": {}, "bands": []}, "bands"),
        ({"parameters": {"weak_ties": {"bounds": [0.2, 0.4]}}},
         "parameters.weak_ties: bounds: an integer parameter takes integer bounds (got [0.2, 0.4])"),
        ({"overrides": {"steps": 3}, "use_facts": ["organic_reach", "unfollow_share", "follower_growth"]},
         "use_facts: the base world runs 3 days, too short to measure some facts (unfollow_share needs 51, "
         "follower_growth needs 30)"),
    ],
    ids=["internal-bands", "empty-bands", "fractional-int-bounds", "too-short"],
)
def test_bad_calibration_files_are_one_line_before_sampling(changes, needle):
    with pytest.raises(CalibrationError) as caught:
        calibration_from_dict({**CALIBRATION, **changes}, "c.yaml")
    assert needle in str(caught.value) and "\n" not in str(caught.value)


@pytest.mark.parametrize(
    ("band", "needle"),
    [
        ({"id": "organic_reach", "low": 0.3, "high": 0.1, "quantity": "organic_reach_per_post"}, "low must not be above high"),
        ({"id": "organic_reach", "low": "a", "high": 0.1, "quantity": "organic_reach_per_post"}, "bands[0].low"),
        ({"id": "organic_reach", "low": 0.1, "high": 0.3, "quantity": "nope"}, "unknown model quantity 'nope'"),
    ],
)
def test_stored_bands_are_checked(band, needle):
    stored = calibration_from_dict(CALIBRATION, "c.yaml").resolved_dict()
    with pytest.raises(CalibrationError) as caught:
        calibration_from_dict({**stored, "bands": [band]}, "OUT/calibration.yaml")
    assert needle in str(caught.value)


@pytest.mark.parametrize("kind", ["calibration", "study"])
def test_an_empty_file_points_to_its_own_documentation(tmp_path, capsys, kind):
    path = tmp_path / "empty.yaml"
    path.write_text("")
    assert main(["calibrate" if kind == "calibration" else "study", str(path)]) == 2
    docs = "docs/calibration.md" if kind == "calibration" else "docs/study.md"
    assert one_error(capsys) == f"error: {path}: the file is empty; see {docs} for the keys of a {kind} file"


def test_the_name_rule_says_dot_and_dash_are_allowed(tmp_path):
    path = study_file(tmp_path)
    write_yaml(path, {**yaml.safe_load(path.read_text()), "name": "a b"})
    with pytest.raises(StudyError) as caught:
        load_study(path)
    assert "must start with a letter, a digit or '_' and contain only letters, digits, '_', '.' and '-'" in str(caught.value)


def test_validate_refuses_the_seeds_calibrate_refuses(tmp_path, capsys):
    assert main(["validate", str(tiny(tmp_path)), "--seed", str(2**63), "--out", str(tmp_path / "v")]) == 2
    assert "seed: must be between 0 and 9223372036854775807" in one_error(capsys)
    with pytest.raises(CalibrationError, match="seed"):
        calibration_from_dict({**CALIBRATION, "seed": 2**63}, "c.yaml")


def test_validate_marks_facts_a_short_world_cannot_measure(tmp_path, capsys):
    out = tmp_path / "v"
    assert main(["validate", str(tiny(tmp_path, steps=10, replications=1)), "--quiet", "--workers", "1",
                 "--out", str(out)]) == 0  # fmt: skip
    assert "not measurable in this world of 10 days" in capsys.readouterr().err.lower()
    table = pd.read_csv(out / "validation.csv").set_index("fact")
    assert table.loc["unfollow_share", "verdict"] == "unmeasured"
    assert table.loc["follower_growth", "verdict"] == "unmeasured"
    assert "unfollow_share (needs 51 days)" in (out / "report.md").read_text()


def test_validate_draws_a_fact_with_an_unbounded_range(tmp_path):
    from sim.validation.facts import DEFAULT_FACTS

    facts = yaml.safe_load(DEFAULT_FACTS.read_text())
    facts["facts"][0]["range"] = [-1e308, 1e308]
    facts["facts"][0]["scale"] = "linear"  # a log-scale fact must be positive (tests/test_calibration_distance.py)
    path = write_yaml(tmp_path / "facts.yaml", facts)
    out = tmp_path / "v"
    code = main(["validate", str(tiny(tmp_path, steps=10, replications=1)), "--facts", str(path), "--quiet",
                 "--workers", "1", "--out", str(out)])  # fmt: skip
    assert code == 0 and (out / "validation.png").stat().st_size > 0


@pytest.mark.parametrize("command", ["sweep", "calibrate", "study"])
def test_every_job_takes_the_common_options(tmp_path, capsys, command):
    """--force and --wait-workers (checked alike) besides --workers, --scheduler, --out and --quiet."""
    assert main([command, "any.yaml", "--force", "--quiet", "--wait-workers", "0"]) == 2
    assert one_error(capsys) == "error: --wait-workers: must be > 0 seconds (got 0.0)"
    assert main([command, "any.yaml", "--force", "--workers", "0"]) == 2
    assert one_error(capsys) == "error: --workers: must be at least 1 (got 0)"
