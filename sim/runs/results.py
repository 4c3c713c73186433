"""The results folder of a scenario run, written atomically under a lock.

Everything is built in a partial folder private to this process and renamed
to its final name only when complete (`sim.runs.folders.claim_folder`), so
an interrupted run never leaves a folder that looks finished and two runs
given the same folder never mix: the second is refused. If the final write
fails (a full disk, a folder made read-only), the computed tables are saved
to a recovery folder in the system temp dir and one line says what failed,
where, and where the tables are.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Sequence
from pathlib import Path

import pandas as pd
import yaml

from sim.runs.figures import write_run_figures
from sim.runs.market_report import market_section
from sim.runs.report import write_report
from sim.runs.runner import Replication
from sim.scenario import Scenario, scenario_hash
from sim.scenario.changes import folder_name
from sim.runs.statistics import summary_stats
from sim.runs.folders import (
    FolderClaim,
    OutputError,
    WriteFailed,
    check_writable,
    claim_folder,
    os_error_line,
    recovery_folder,
)

__all__ = ["OutputError", "WriteFailed", "check_writable", "combine", "default_folder", "write_results"]

SUMMARY_COLUMNS = (
    "replication", "seed", "firm", "early_reach", "late_reach", "crossover_day", "reach_per_spend",
    "followers_final", "trust_final", "max_cascade", "cumulative_reach_final",
)  # fmt: skip


MARKET_TABLES = ("pages", "pages_weekly", "user_cascades", "events")  # written when not empty (MARKET_SPEC.md)


def default_folder(scenario: Scenario, started, root: Path = Path("results")) -> Path:
    """results/<scenario>/<UTC timestamp>-<config hash>/; <scenario> names its overrides (``duel+attention_mean=10``)."""
    return root / folder_name(scenario) / f"{started:%Y%m%dT%H%M%SZ}-{scenario_hash(scenario)}"


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
        **{name: pd.concat([getattr(r, name) for r in reps], ignore_index=True) for name in MARKET_TABLES},
    }


def write_results(
    final: Path, scenario: Scenario, reps: list[Replication], metadata: dict, claim: FolderClaim | None = None,
    sections: Sequence[Callable[[dict], str]] = (),
) -> Path:
    """Write config, metadata, tables, figures and report; rename into place when complete.

    ``claim`` is the folder claim the caller took before computing (so a
    second run is refused before it computes); without one it is taken here.
    A failure while writing raises WriteFailed (one line), after saving the
    tables to a recovery folder when that is possible. ``sections`` add
    markdown to report.md (see `sim.runs.report.write_report`).
    """
    if claim is None:
        with claim_folder(final) as own:
            return write_results(final, scenario, reps, metadata, own, sections)
    tables = combine(reps)
    try:
        _write_folder(claim.partial, scenario, reps, tables, metadata, figures=True, sections=sections)
        return claim.commit()
    except (OSError, MemoryError) as err:
        failure = os_error_line(err, claim.final)
        saved = _save_recovery(scenario, reps, tables, metadata)
        raise WriteFailed(f"writing the results folder {claim.final} failed: {failure}; {saved}") from None


def _write_folder(
    folder: Path, scenario: Scenario, reps: list[Replication], tables: dict, metadata: dict, figures: bool,
    sections: Sequence[Callable[[dict], str]] = (),
) -> None:
    """Every file of a results folder, each step named so a failure says which file it was."""
    population = scenario.width * scenario.height
    stats = summary_stats(tables["summary"], population=population, steps=scenario.steps)
    steps: list[tuple[str, Callable[[], object]]] = [
        ("config.yaml", lambda: (folder / "config.yaml").write_text(
            yaml.safe_dump(scenario.resolved_dict(), sort_keys=False, allow_unicode=True))),
        ("timeseries.parquet", lambda: tables["timeseries"].to_parquet(folder / "timeseries.parquet", index=False)),
        ("cascades.parquet", lambda: tables["cascades"].to_parquet(folder / "cascades.parquet", index=False)),
        ("follow_events.parquet",
         lambda: tables["follow_events"].to_parquet(folder / "follow_events.parquet", index=False)),
        ("summary.csv", lambda: tables["summary"].to_csv(folder / "summary.csv", index=False)),
        ("summary_stats.csv", lambda: stats.to_csv(folder / "summary_stats.csv", index=False)),
    ]  # fmt: skip
    for name in MARKET_TABLES:
        if not tables[name].empty:
            steps.append((f"{name}.parquet", lambda name=name: tables[name].to_parquet(folder / f"{name}.parquet",
                                                                                   index=False)))  # fmt: skip
    if figures and not tables["pages"].empty:
        sections = (*sections, lambda run_tables: market_section(folder / "figures", run_tables))
    if figures:
        names = reps[0].firm_names
        made: dict = {}
        steps += [
            ("figures/", lambda: made.update(figures=write_run_figures(
                folder / "figures", tables["firms"], tables["platform"], tables["cascades"], reps[0].follow_maps, names,
                population))),
            ("report.md", lambda: write_report(
                folder / "report.md", scenario, tables["summary"], stats, made["figures"], metadata, tables=tables, sections=sections)),
        ]  # fmt: skip
    steps.append(("metadata.json", lambda: (folder / "metadata.json").write_text(
        json.dumps(metadata, indent=2, default=str) + "\n")))  # fmt: skip
    for name, write in steps:
        try:
            write()
        except OSError as err:
            if not getattr(err, "filename", None):
                err.filename = str(folder / name)
            raise


def _save_recovery(scenario: Scenario, reps: list[Replication], tables: dict, metadata: dict) -> str:
    """Save the tables (no figures) to a recovery folder; say where, or that it failed too."""
    folder = None
    try:
        folder = recovery_folder(scenario.name)
        _write_folder(folder, scenario, reps, tables, {**metadata, "recovered": True}, figures=False)
    except (OSError, MemoryError) as err:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
        return f"saving the tables elsewhere failed too: {os_error_line(err)}; nothing was kept"
    return f"the computed tables were saved to {folder} (no figures, no report); move them where you want them"
