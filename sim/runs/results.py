"""The results folder of a scenario run, written atomically.

Everything is built under a hidden ``.NAME.partial`` sibling and renamed to
its final name only when complete, so an interrupted run never leaves a
folder that looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd
import yaml

from sim.runs.figures import write_run_figures
from sim.runs.report import write_report
from sim.runs.runner import Replication
from sim.scenario import Scenario, scenario_hash
from sim.runs.statistics import summary_stats

SUMMARY_COLUMNS = (
    "replication", "seed", "firm", "early_reach", "late_reach", "crossover_day", "reach_per_spend",
    "followers_final", "trust_final", "max_cascade", "cumulative_reach_final",
)  # fmt: skip


class OutputError(OSError):
    """The output folder cannot be used; the message names it and why."""


def default_folder(scenario: Scenario, started, root: Path = Path("results")) -> Path:
    """results/<scenario>/<UTC timestamp>-<config hash>/."""
    return root / scenario.name / f"{started:%Y%m%dT%H%M%SZ}-{scenario_hash(scenario)}"


def check_writable(folder: Path) -> None:
    """Fail early, before any computing, if ``folder`` cannot be created and written."""
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise OutputError(f"--out: {folder} already exists and is not an empty folder")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        probe = folder.parent / f".{folder.name}.probe"
        probe.write_text("")
        probe.unlink()
    except OSError as err:
        raise OutputError(f"--out: cannot write to {folder.parent}: {err.strerror or err}") from None


def _atomic_folder(final: Path):
    partial = final.parent / f".{final.name}.partial"
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    return partial


def combine(reps: list[Replication]) -> dict[str, pd.DataFrame]:
    """Stack the replications' tables; join the platform series onto the daily table."""
    firms = pd.concat([r.firms for r in reps], ignore_index=True)
    platform = pd.concat([r.platform for r in reps], ignore_index=True)
    summary = pd.concat([r.summary.assign(seed=r.seed) for r in reps], ignore_index=True)
    timeseries = firms.merge(
        platform.rename(columns={c: f"platform_{c}" for c in platform.columns if c not in ("replication", "step")}),
        on=["replication", "step"],
        how="left",
    )
    return {
        "firms": firms,
        "platform": platform,
        "timeseries": timeseries,
        "cascades": pd.concat([r.cascades for r in reps], ignore_index=True),
        "follow_events": pd.concat([r.follow_events for r in reps], ignore_index=True),
        "summary": summary[list(SUMMARY_COLUMNS)],
    }


def write_results(final: Path, scenario: Scenario, reps: list[Replication], metadata: dict) -> Path:
    """Write config, metadata, tables, figures and report; rename into place when complete."""
    partial = _atomic_folder(final)
    try:
        tables = combine(reps)
        population = scenario.width * scenario.height
        stats = summary_stats(tables["summary"], population=population, steps=scenario.steps)
        (partial / "config.yaml").write_text(
            yaml.safe_dump(scenario.resolved_dict(), sort_keys=False, allow_unicode=True)
        )
        tables["timeseries"].to_parquet(partial / "timeseries.parquet", index=False)
        tables["cascades"].to_parquet(partial / "cascades.parquet", index=False)
        tables["follow_events"].to_parquet(partial / "follow_events.parquet", index=False)
        tables["summary"].to_csv(partial / "summary.csv", index=False)
        stats.to_csv(partial / "summary_stats.csv", index=False)
        names = reps[0].firm_names
        figures = write_run_figures(
            partial / "figures", tables["firms"], tables["platform"], tables["cascades"], reps[0].follow_maps, names,
            population,
        )
        write_report(partial / "report.md", scenario, tables["summary"], stats, figures, metadata, tables=tables)
        (partial / "metadata.json").write_text(json.dumps(metadata, indent=2, default=str) + "\n")
        os.rename(partial, final)
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return final
