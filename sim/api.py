"""The Python API for notebooks and scripts: load a scenario, run it, sweep it.

Each function does what a command does, through the same code:
`load_scenario` reads a scenario like ``python run.py SCENARIO --set KEY=VALUE``,
`run_scenario` runs its replications like ``python run.py`` but returns the
tables instead of writing them (``results.save(folder)`` writes the same
results folder), and `run_sweep` runs ``python run.py sweep`` and returns
the analysed tables. Bad input raises `ScenarioError` (or `SweepError`) with
the one-line message the command line prints. docs/api.md is the walk-through.
"""

from __future__ import annotations

import json
import os
import sys
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.scenario import Scenario, ScenarioError, validate_config
from sim.scenario import load_scenario as _load_file
from sim.scenario.arguments import check_count, check_path, check_seed
from sim.scenario.io import parse_yaml
from sim.scenario.paths import DEFAULT_SCENARIO, PROJECT_ROOT, find_shipped

SWEEP_ROOT = Path("results") / "sweeps"
__all__ = ["DEFAULT_SCENARIO", "PROJECT_ROOT", "load_scenario", "run_scenario", "run_sweep", "with_run_settings"]

if TYPE_CHECKING:
    from sim.runs.run_results import RunResults
    from sim.sweep.sweep_results import SweepResults

Overrides = Mapping[str, Any] | Iterable[str] | None


def load_scenario(path: str | os.PathLike | None = None, overrides: Overrides = None) -> Scenario:
    """Read a scenario YAML file and apply overrides; returns a validated `Scenario`.

    ``path``: the scenario file; by default the shipped duel (scenarios/duel.yaml).
    A relative path not found from the current folder is looked up in the project,
    so ``"scenarios/classroom.yaml"`` works from a notebook in a sub-folder.
    ``overrides``: dotted keys as in ``--set``, e.g. ``{"attention_mean": 10,
    "firms.dialogue.reply_rate": 0.5}``; Python values are used as they are, string
    values are read as ``--set`` reads them (``"10"`` is the number 10). A list of
    ``"KEY=VALUE"`` strings works too. Any problem raises `ScenarioError` with one line
    naming the file or the override, the key and what is allowed.
    """
    source = find_shipped(check_path(path, "load_scenario: path")) if path is not None else DEFAULT_SCENARIO
    settings = _override_strings(overrides)
    try:
        return _load_file(source, settings)
    except ScenarioError as err:
        message = _as_overrides(str(err))
        if message != str(err):
            raise ScenarioError(message) from None
        raise


def run_scenario(
    scenario: Scenario | str | os.PathLike | None = None,
    *,
    replications: int | None = None,
    seed: int | None = None,
    workers: int | None = None,
    progress: bool = True,
) -> RunResults:
    """Run a scenario's replications and return them as a `RunResults` (tables in memory).

    ``scenario``: a `Scenario` from `load_scenario`, or a scenario file (default: the duel).
    ``replications`` and ``seed`` replace the scenario's; replication r runs with the seed
    ``sim.replication_seed(seed, r)``, so the numbers do not depend on ``workers``
    (default: one process per replication, at most one per CPU core). The command line
    run with the same scenario, ``--seed`` and ``--replications`` gives the same tables.
    """
    from sim.runs.run_results import RunResults
    from sim.runs.session import run_with_provenance

    if isinstance(scenario, Mapping):
        raise ScenarioError("run_scenario: scenario: a Scenario (from sim.load_scenario), a scenario file or None, "
                            "not a dict; for settings as a dict use sim.load_scenario(path, overrides={...})")  # fmt: skip
    if not isinstance(scenario, Scenario):
        if scenario is not None:
            check_path(scenario, "run_scenario: scenario")
        scenario = load_scenario(scenario)
    if seed is not None:
        seed = check_seed(seed, "run_scenario: seed")
    scenario = with_run_settings(scenario, seed=seed, replications=replications)
    if workers is not None:
        workers = check_count(workers, "run_scenario: workers", least=1)
    workers = workers or min(scenario.replications, os.cpu_count() or 1)
    bar = _progress_bar(scenario, enabled=progress)
    try:
        reps, metadata = run_with_provenance(scenario, workers, on_done=lambda _: bar.update(),
                                             entry_point="sim.run_scenario")  # fmt: skip
    finally:
        bar.close()
    from sim.validation import report_section

    return RunResults(scenario=scenario, replications=reps, metadata=metadata, report_sections=(report_section,))


def run_sweep(
    sweep: str | os.PathLike | Mapping[str, Any],
    out: str | os.PathLike | None = None,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    client=None,
    retry_failed: bool = False,
    quiet: bool = False,
) -> SweepResults:
    """Run a parameter sweep on Dask, analyse it and return a `SweepResults`.

    ``sweep``: a sweep file (see docs/sweeps.md) or the same keys as a dict; its base
    ``scenario`` is found as `load_scenario` finds a file.
    ``out``: the sweep's results folder (default: results/sweeps/<name>/). As with
    ``python run.py sweep``, runs already stored there are not run again (an
    interrupted sweep resumes) and a folder holding another sweep is refused.
    ``workers`` local Dask workers (default: one per core), or ``scheduler`` (an
    address) or ``client`` (a `distributed.Client`) to use a running cluster.
    Interrupting keeps the finished runs and raises KeyboardInterrupt.
    """
    from sim.runs.main_script import workers_skip_main_script
    from sim.sweep.execute import run_sweep as execute_sweep
    from sim.sweep.report import build_report
    from sim.sweep.spec import SweepError, read_sweep_file, sweep_from_dict
    from sim.sweep.sweep_results import SweepResults

    if isinstance(sweep, Mapping):
        raw, source = dict(sweep), "sweep"
    elif isinstance(sweep, (str, os.PathLike)):
        path = find_shipped(_as_path(sweep, "run_sweep: sweep", SweepError))
        raw, source = read_sweep_file(path), str(path)
    else:
        raise SweepError(f"run_sweep: sweep: a sweep file or a dict of its keys (got {type(sweep).__name__})")
    if isinstance(raw.get("scenario"), str):
        raw["scenario"] = str(find_shipped(raw["scenario"]))
    spec, model = sweep_from_dict(raw, source)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise SweepError(f"run_sweep: workers: must be a whole number of at least 1 (got {workers!r})")
    if scheduler is not None and not isinstance(scheduler, str):
        raise SweepError(f"run_sweep: scheduler: must be an address such as 'tcp://host:8786' "
                         f"(got {scheduler!r:.60} ({type(scheduler).__name__}))")  # fmt: skip
    out_path = _as_path(out, "run_sweep: out", SweepError) if out is not None else SWEEP_ROOT / spec.name
    folder = out_path.absolute()  # results read it later
    with workers_skip_main_script():  # Dask's workers need not re-run a script without a __main__ guard
        outcome = execute_sweep(spec, model, folder, workers=workers, scheduler=scheduler, client=client,
                                retry_failed=retry_failed, quiet=quiet)  # fmt: skip
    for note in outcome.notes:
        warnings.warn(note, stacklevel=2)
    if outcome.interrupted:
        raise KeyboardInterrupt(f"interrupted: {outcome.line()}; finished runs are saved in {folder}; "
                                "call run_sweep again to resume")  # fmt: skip
    analysis, report = build_report(folder)
    return SweepResults(folder=folder, outcome=outcome, analysis=analysis, report=report)


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def with_run_settings(scenario: Scenario, seed: int | None = None, replications: int | None = None) -> Scenario:
    """The scenario with another seed or number of replications, validated like the file's."""
    changes = {k: v for k, v in (("seed", seed), ("replications", replications)) if v is not None}
    if not changes:
        return scenario
    changed = validate_config({**scenario.resolved_dict(), **changes}, "run_scenario", cls=Scenario)
    changed._changes = scenario._changes  # the overrides it was loaded with still describe its world
    return changed


def _as_overrides(message: str) -> str:
    """Name overrides as the API does: '--set KEY: ...' (the command line's word) becomes 'overrides: KEY: ...'."""
    lines = []
    for line in message.split("\n"):
        indent = line[: len(line) - len(line.lstrip())]
        rest = line.lstrip()
        lines.append(indent + "overrides: " + rest.removeprefix("--set ") if rest.startswith("--set ") else line)
    return "\n".join(lines)


def _as_path(value: Any, where: str, error: type[Exception]) -> Path:
    """`check_path`, raising the caller's error class (SweepError for sweeps)."""
    try:
        return check_path(value, where)
    except ScenarioError as err:
        raise error(str(err)) from None


def _override_strings(overrides: Overrides) -> list[str]:
    """Overrides as the ``KEY=VALUE`` strings `--set` takes."""
    if overrides is None:
        return []
    if isinstance(overrides, str):
        return [overrides]
    if not isinstance(overrides, Mapping):
        if not isinstance(overrides, Iterable) or isinstance(overrides, (bytes, bytearray)):
            raise ScenarioError(f"load_scenario: overrides: a dict of dotted keys to values, or a list of "
                                f"'KEY=VALUE' strings (got a {type(overrides).__name__})")  # fmt: skip
        items = list(overrides)
        wrong = next((item for item in items if not isinstance(item, str)), None)
        if wrong is not None:
            raise ScenarioError(f"load_scenario: overrides: a list of overrides holds 'KEY=VALUE' strings "
                                f"(got {wrong!r}); or pass a dict of dotted keys to values")  # fmt: skip
        return items
    items = []
    for key, value in overrides.items():
        if not isinstance(key, str):
            raise ScenarioError(
                f"overrides: key {key!r} is not a string; keys are dotted names like attention_mean "
                "or firms.NAME.field"
            )
        try:
            items.append(f"{key}={_yaml_text(value)}")
        except TypeError as err:
            raise ScenarioError(f"overrides: {key}: {err}") from None
    return items


def _yaml_text(value: Any) -> str:
    """A value as YAML text: strings as ``--set`` reads them, other values exactly (JSON is YAML)."""
    if isinstance(value, str):
        try:
            parsed = parse_yaml(value) if value.strip() else None
        except Exception:  # noqa: BLE001 - not YAML: keep the literal string
            parsed = None
        return value if parsed is not None and not isinstance(parsed, dict) else json.dumps(value)
    return json.dumps(value, default=_plain)


def _plain(value: Any) -> Any:
    """numpy scalars and arrays, tuples and pydantic models as JSON values."""
    if hasattr(value, "model_dump"):
        return value.model_dump(mode="json")
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    raise TypeError(f"cannot use a {type(value).__name__} as a scenario value")


class _NoBar:
    def update(self) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(scenario: Scenario, enabled: bool):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=scenario.replications, desc=scenario.name, unit="rep", file=sys.stderr)
