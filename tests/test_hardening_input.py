"""Hostile and mistaken input from the command line: one line per mistake, exit 2, never a hang.

Also running from another folder: the shipped scenarios are found relative
to the project, and `list` says where it looked when it finds none.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml

from sim.scenario import ScenarioError, load_scenario
from sim.scenario.errors import show_value
from sim.scenario.io import MAX_YAML_NODES, parse_yaml
from tests.hardening_helpers import REPO, env, error_lines, run_py


def alias_bomb(levels: int, width: int = 10) -> str:
    """a0 = width scalars; a(k) = width references to a(k-1): width**levels values once expanded."""
    lines = [f"a0: &a0 [{', '.join(['x'] * width)}]"]
    lines += [f"a{k}: &a{k} [{', '.join([f'*a{k - 1}'] * width)}]" for k in range(1, levels)]
    return "\n".join(lines) + f"\nname: *a{levels - 1}\n"


BAD_FILES = {
    "non_utf8": (b"name: caf\xe9\n", "line 1: not UTF-8 text (byte 0xe9 at offset 9); save the file as UTF-8"),
    "alias_bomb": (alias_bomb(12).encode(), "YAML refused: expands to more than 1,000,000 values through aliases"),
    "deep_nesting": (b"name: " + b"[" * 20_000 + b"]" * 20_000 + b"\n", "YAML refused: nested too deeply"),
    "empty": (b"# a comment, no keys\n", "the file is empty"),
    "list": (b"- 1\n- 2\n", "the top level must be a mapping"),
}


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_hostile_scenario_files_are_one_line_exit_2(tmp_path, case):
    content, needle = BAD_FILES[case]
    (tmp_path / "s.yaml").write_bytes(content)
    start = time.monotonic()
    proc = run_py(["s.yaml", "--quiet"], cwd=tmp_path, timeout=120)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert lines[0].startswith("error: s.yaml: ") and needle in lines[0], lines
    assert len(lines[0]) < 300
    assert not (tmp_path / "results").exists()
    assert time.monotonic() - start < 100


def test_a_fifo_or_a_device_as_scenario_is_refused_without_blocking(tmp_path):
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it for reading would block until a writer comes
    proc = run_py(["pipe.yaml", "--quiet"], cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        "error: pipe.yaml: is a FIFO (named pipe), not a regular file; give the path of a YAML file"
    ]
    proc = run_py(["/dev/zero", "--quiet"], cwd=tmp_path, timeout=120)  # a device never ends
    assert proc.returncode == 2
    assert error_lines(proc) == ["error: /dev/zero: is a device, not a regular file; give the path of a YAML file"]


def test_an_alias_bomb_within_the_limit_is_shown_capped(tmp_path):
    """10**5 values through aliases, in a key that wants a string: the message shows a capped value."""
    path = tmp_path / "s.yaml"
    path.write_text(alias_bomb(5))
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    lines = str(info.value).splitlines()
    assert lines[0].startswith(f"{path}: name: must be a string (got [[[[...], [...], [...], [...], [...],")
    assert len(lines[0]) < len(str(path)) + 100
    assert lines[1:] == [f"{path}: a{k}: unknown key" for k in range(5)]
    huge = [[["x" * 10**6] * 1000] * 1000] * 1000  # 10**9 references: repr would never finish
    assert len(show_value(huge)) <= 60


def test_the_structure_check_counts_values_as_expanded():
    # 10 x 10**4 = 10**5 scalars (plus their lists) once expanded: allowed, and built sharing the lists
    small = parse_yaml(alias_bomb(5, width=10))
    assert small["name"][0][0][0][0] == ["x"] * 10 and small["name"][0] is small["name"][1]
    # a 300-byte file that would expand to 10**7 values: refused before anything is built
    text = alias_bomb(7, width=10)
    assert len(text) < 500
    with pytest.raises(yaml.YAMLError, match="1,000,000 values"):
        parse_yaml(text)
    assert MAX_YAML_NODES == 1_000_000
    with pytest.raises(yaml.YAMLError, match="contains it"):
        parse_yaml("a: &a [1, *a]\n")
    assert parse_yaml("a: " + "[" * 99 + "]" * 99) is not None  # 100 levels with the top mapping
    with pytest.raises(yaml.YAMLError, match="nested too deeply"):
        parse_yaml("a: " + "[" * 100 + "]" * 100)


def test_a_sweep_file_given_to_the_plain_runner_names_the_command(tmp_path):
    sweep = REPO / "scenarios" / "sweeps" / "grid_attention_pages.yaml"
    proc = run_py([sweep, "--quiet"], cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        f"error: {sweep}: this is a sweep file (it has method, parameters), not a scenario; "
        f"run it with: python run.py sweep {sweep}"
    ]


def test_every_mistake_of_a_file_is_reported_at_once(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "width: 2\nsteps: 0\ntrust0: 3\nbogus: 1\nfirms:\n  - {name: a, preset: nope}\n  - {name: a, preset: dialogue}\n"
    )
    proc = run_py(["s.yaml", "--quiet"], cwd=tmp_path)
    assert proc.returncode == 2
    assert error_lines(proc) == [
        "error: s.yaml: width: must be between 3 and 5000 (got 2)",
        "error: s.yaml: steps: must be between 1 and 100000 (got 0)",
        "error: s.yaml: trust0: must be between 0 and 1 (got 3)",
        "error: s.yaml: firms[0].preset: must be one of 'broadcast', 'dialogue' or null (got 'nope')",
        "error: s.yaml: bogus: unknown key",
    ]


def test_more_than_ten_mistakes_list_ten_and_count_the_rest(tmp_path):
    keys = ["trust0", "trust_pos", "trust_neg", "trust_reply", "trust_deleted", "trust_drift", "comment_prob",
            "follow_prob", "fatigue_decay", "fatigue_gain", "reply_relief", "home_follow_prob", "initial_follow_prob"]
    (tmp_path / "s.yaml").write_text("".join(f"{k}: 2\n" for k in keys))
    proc = run_py(["s.yaml", "--quiet"], cwd=tmp_path)
    lines = error_lines(proc)
    assert proc.returncode == 2 and len(lines) == 11, lines
    assert all("must be between 0 and 1 (got 2)" in line for line in lines[:10])
    assert lines[10] == "error: s.yaml: ... and 3 more errors"


def test_cross_field_mistakes_are_all_reported(tmp_path):
    (tmp_path / "s.yaml").write_text(
        "width: 10\nheight: 10\nfirms:\n  - {name: a, preset: dialogue, home: [50, 1]}\n"
        "  - {name: a, preset: broadcast}\n"
    )
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    lines = str(info.value).splitlines()
    assert len(lines) == 2
    assert lines[0].endswith("firms[1].name: duplicate firm name; names must be unique (got 'a')")
    assert "firms[0].home: must be a cell of the grid" in lines[1]


# ------------------------------------------------------------------ running from another folder

QUICK = ["--set", "width=10", "--set", "height=10", "--set", "steps=3", "--replications", "1", "--workers", "1"]


def test_the_default_and_shipped_scenarios_are_found_from_another_folder(tmp_path):
    proc = run_py([*QUICK, "--quiet", "--out", "a"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((tmp_path / "a" / "config.yaml").read_text())["name"] == "duel"
    proc = run_py(["scenarios/three_firms.yaml", *QUICK, "--quiet", "--out", "b"], cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert yaml.safe_load((tmp_path / "b" / "config.yaml").read_text())["name"] == "three_firms"
    proc = run_py(["list"], cwd=tmp_path)
    assert proc.returncode == 0
    assert f"{REPO / 'scenarios' / 'duel.yaml'}" in proc.stdout and len(proc.stdout.splitlines()) >= 8


def clone_without_scenarios(tmp_path):
    """run.py and the sim package alone, as an install without the scenarios folder looks."""
    clone = tmp_path / "clone"
    shutil.copytree(REPO / "sim", clone / "sim", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(REPO / "run.py", clone / "run.py")
    return clone


def run_clone(clone, args, cwd):
    return subprocess.run([sys.executable, str(clone / "run.py"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120, env=env(PYTHONPATH=str(clone)))  # fmt: skip


def test_list_says_where_it_looked_when_it_finds_nothing(tmp_path):
    clone = clone_without_scenarios(tmp_path)
    proc = run_clone(clone, ["list"], cwd=tmp_path)
    assert proc.returncode == 1 and proc.stdout == ""
    assert error_lines(proc) == [f"no scenario files (*.yaml) found in {clone / 'scenarios'}"]


def test_list_survives_a_non_utf8_file_in_scenarios(tmp_path):
    clone = clone_without_scenarios(tmp_path)
    shutil.copytree(REPO / "scenarios", clone / "scenarios")
    (clone / "scenarios" / "latin1.yaml").write_bytes(b"description: caf\xe9\n")
    (clone / "scenarios" / "zz_list.yaml").write_text("- a list\n")
    proc = run_clone(clone, ["list"], cwd=clone)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    listed = {line.split()[0]: line for line in proc.stdout.splitlines()}
    assert "not UTF-8 text" in listed["scenarios/latin1.yaml"]
    assert "(not a scenario mapping)" in listed["scenarios/zz_list.yaml"]
    assert "scenarios/duel.yaml" in listed


def test_sweep_files_get_the_same_guards(tmp_path):
    from sim.sweep.spec import SweepError, load_sweep

    os.mkfifo(tmp_path / "pipe.yaml")
    (tmp_path / "bomb.yaml").write_text(alias_bomb(8))
    (tmp_path / "empty.yaml").write_text("")
    for name, needle in [("pipe.yaml", "is a FIFO (named pipe)"), ("bomb.yaml", "YAML refused: expands"),
                         ("empty.yaml", "the file is empty")]:  # fmt: skip
        with pytest.raises(SweepError) as info:
            load_sweep(tmp_path / name)
        assert str(info.value).startswith(f"{tmp_path / name}: ") and needle in str(info.value)
