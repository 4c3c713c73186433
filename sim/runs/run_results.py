"""A finished scenario run held in memory: the results folder's tables as DataFrames, and `save`.

`sim.run_scenario` returns a `RunResults`. Its tables are built by the same
code that writes a results folder (`sim.runs.results.combine` and
`sim.runs.statistics.summary_stats`), so ``results.summary`` is what
``summary.csv`` holds, and `save` writes that folder through
`sim.runs.results.write_results`, figures and report included.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import pandas as pd

from sim.runs.provenance import utc_now
from sim.runs.results import OutputError, check_writable, combine, default_folder, write_results
from sim.runs.runner import Replication
from sim.runs.statistics import summary_stats
from sim.scenario import Scenario, ScenarioError


@dataclass(eq=False)
class RunResults:
    """The replications of one scenario run, with the tables of its results folder.

    - ``timeseries``: one row per replication, day and firm (``timeseries.parquet``);
      the platform's daily series are the ``platform_*`` columns.
    - ``summary``: one row per replication and firm (``summary.csv``).
    - ``stats``: mean, sd and 95% interval across replications per firm and metric
      (``summary_stats.csv``).
    - ``cascades``: one row per shared item (``cascades.parquet``).
    - ``pages``, ``pages_weekly``, ``user_cascades``: the page market's tables (MARKET_SPEC.md).
    - ``metadata``: seeds, workers, versions, git revision, wall time (``metadata.json``).
    - ``config``: the resolved scenario (``config.yaml``).
    """

    scenario: Scenario
    replications: list[Replication]
    metadata: dict[str, Any]
    report_sections: tuple = ()  # functions of the tables adding markdown to report.md (see write_report)
    saved_to: Path | None = field(default=None, init=False)

    @cached_property
    def _tables(self) -> dict[str, pd.DataFrame]:
        return combine(self.replications)

    @property
    def timeseries(self) -> pd.DataFrame:
        return self._tables["timeseries"]

    @property
    def summary(self) -> pd.DataFrame:
        return self._tables["summary"]

    @property
    def cascades(self) -> pd.DataFrame:
        return self._tables["cascades"]

    @property
    def pages(self) -> pd.DataFrame:
        """The page market's page table (``pages.parquet``): one row per replication and page; empty in part 1."""
        return self._tables["pages"]

    @property
    def pages_weekly(self) -> pd.DataFrame:
        """Per replication, page and week (``pages_weekly.parquet``); empty in part 1 or when switched off."""
        return self._tables["pages_weekly"]

    @property
    def user_cascades(self) -> pd.DataFrame:
        """Cascades started by users' shares, as Goel et al. count them (``user_cascades.parquet``)."""
        return self._tables["user_cascades"]

    @cached_property
    def stats(self) -> pd.DataFrame:
        s = self.scenario
        return summary_stats(self.summary, population=s.width * s.height, steps=s.steps)

    @property
    def config(self) -> dict[str, Any]:
        return self.scenario.resolved_dict()

    @property
    def firm_names(self) -> list[str]:
        return list(self.replications[0].firm_names)

    def means(self) -> pd.DataFrame:
        """Mean of each summary metric (rows) per firm (columns): the table the command line prints."""
        return self.stats.pivot(index="metric", columns="firm", values="mean")[self.firm_names]

    def save(self, folder: str | Path | None = None, *, overwrite: bool = False) -> Path:
        """Write the results folder (tables, figures, report.md, provenance); returns its path.

        ``folder`` must not exist or be empty; by default it is
        ``results/<scenario>/<UTC timestamp>-<config hash>/`` under the current folder,
        as for the command line. The folder appears only once it is complete.
        ``overwrite=True`` replaces an earlier results folder there (one holding
        ``config.yaml`` and ``metadata.json``), only once the new one is complete,
        so a script can be run again; any other folder is still refused.
        """
        if folder is not None and not isinstance(folder, (str, os.PathLike)):
            raise ScenarioError(f"save: folder: must be a path, a str or pathlib.Path, or None "
                                f"(got {folder!r:.60} ({type(folder).__name__}))")  # fmt: skip
        if not isinstance(overwrite, bool):
            raise ScenarioError(f"save: overwrite: True or False (got {overwrite!r:.60})")
        final = Path(folder) if folder is not None else default_folder(self.scenario, utc_now())
        if overwrite and final.is_dir() and any(final.iterdir()):
            return self._replace(final)
        try:
            check_writable(final)
        except OutputError as err:
            message = str(err).removeprefix("--out: ")
            hint = "; pass overwrite=True to replace an earlier results folder" if final.is_dir() else ""
            raise OutputError(f"save: {message}{hint}") from None
        self.saved_to = write_results(final, self.scenario, self.replications, self.metadata,
                                      sections=self.report_sections)
        return self.saved_to

    def _replace(self, final: Path) -> Path:
        """Write beside ``final``, then swap the complete new folder in and remove the old one."""
        if not ((final / "config.yaml").is_file() and (final / "metadata.json").is_file()):
            raise OutputError(f"save: {final} holds files but is not a results folder (no config.yaml and "
                              "metadata.json); overwrite=True replaces only results folders")  # fmt: skip
        fresh = final.with_name(f".{final.name}.new-{os.getpid()}")
        old = final.with_name(f".{final.name}.old-{os.getpid()}")
        for leftover in (fresh, old):
            shutil.rmtree(leftover, ignore_errors=True)
        write_results(fresh, self.scenario, self.replications, self.metadata, sections=self.report_sections)
        os.rename(final, old)
        os.rename(fresh, final)
        shutil.rmtree(old, ignore_errors=True)
        self.saved_to = final
        return final

    def __repr__(self) -> str:
        days = int(self.timeseries["step"].max()) if len(self.timeseries) else 0
        return (
            f"<RunResults {self.scenario.name!r}: {len(self.replications)} replications of {days} days, "
            f"firms {', '.join(self.firm_names)}, seed {self.scenario.seed}; "
            ".timeseries .summary .stats .cascades .pages .metadata, .save(folder)>"
        )
