"""report.md: a short human-readable summary of a scenario run, with a glossary of every metric."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from sim.model.outputs import EARLY_DAYS, LATE_DAYS, TRAILING_DAYS
from sim.runs.figures import MIN_BAND_N, crossover_text, run_crossovers
from sim.scenario.changes import scenario_changes
from sim.runs.statistics import ALL_FIRMS, METRIC_INFO, PAIR_METRICS, Lead, lead

FIGURE_CAPTIONS = {
    "reach": "Daily reach per firm (mean, 95% band across replications; shaded: early and late windows; "
    "dashed: crossover day)",
    "followers": "Followers per firm",
    "trust_fatigue": "Mean trust and fatigue of each firm's followers (followers only, unlike trust_final)",
    "channels": "Daily reach by channel",
    "cascades": "Cascade size distribution (CCDF, log-log)",
    "follow_map": "Who follows whom on the grid, at three moments",
    "attention": "Attention overload on the platform",
}


def _number(x: float) -> str:
    if x is None or (isinstance(x, float) and np.isnan(x)):
        return "n/a"
    if abs(x) >= 100:
        return f"{x:,.0f}"
    return f"{x:.3g}"


def markdown_table(frame: pd.DataFrame) -> str:
    """A plain Markdown table (no extra dependency)."""
    head = "| " + " | ".join(frame.columns) + " |"
    rule = "|" + "|".join("---" for _ in frame.columns) + "|"
    rows = [
        "| " + " | ".join(_number(v) if isinstance(v, (float, np.floating)) else str(v) for v in row) + " |"
        for row in frame.itertuples(index=False)
    ]
    return "\n".join([head, rule, *rows])


def headline(found: Lead | None, window: str) -> str:
    """One sentence: who leads on a metric, by how much, and how sure we are."""
    if found is None:
        return f"- {window}: only one firm."
    if found.n < 2:
        return f"- {window}: **{found.leader}** leads {found.runner_up} by {_number(found.gap)} users/day (one replication, no interval)."
    verdict = "clearly" if found.significant else "not significantly"
    return (
        f"- {window}: **{found.leader}** leads {found.runner_up} {verdict}, by {_number(found.gap)} users/day "
        f"(95% CI {_number(found.ci_low)} to {_number(found.ci_high)}, n = {found.n} replications)."
    )


CROSSOVER_RULE = (
    f"Crossover day: on {TRAILING_DAYS}-day trailing means of daily reach, the final leader is the firm strictly "
    "ahead of every other firm on the last day; the crossover day is the first day of its unbroken lead over all "
    "of them to the end (the day after the last day it was behind or tied with any rival). It is empty when the "
    "final leader led every day, when the last day is a tie, or with one firm. With two firms this is the spec's "
    "rule (one firm overtakes the other for good); with three or more, the final leader has to pass every rival, "
    "and the report names the rival that was ahead of it just before."
)


def glossary() -> list[str]:
    """Every summary metric in one line: what it measures, its unit and its window."""
    lines = ["## Glossary", "", "Per firm and replication (`summary.csv`), summarised across replications above:", ""]
    for metric, (unit, window, meaning) in METRIC_INFO.items():
        scope = "one value per run (pair metric), repeated on each firm's row of summary.csv" if metric in PAIR_METRICS else ""
        lines.append(f"- `{metric}`: {meaning}. Unit: {unit}; window: {window}" + (f"; {scope}" if scope else "") + ".")
    lines += [
        "",
        f"Windows: early = days 1-{EARLY_DAYS}, late = the last {LATE_DAYS} days (the whole run if shorter). "
        "Intervals are 95% t-intervals of the mean across replications, cut to the metric's physical range "
        "(0 to the population for counts of users, 0-1 for trust, day 1 to the last day for the crossover); "
        "the true mean lies in that range, so the cut keeps the coverage. `n`: replications where the value is "
        "defined; `of`: all replications.",
        "",
        CROSSOVER_RULE,
        "",
    ]
    return lines


def stats_table(stats: pd.DataFrame) -> pd.DataFrame:
    """The summary statistics as the report shows them: labelled metrics, one interval column."""
    rows = []
    for row in stats.itertuples(index=False):
        low, high = row.ci95_low, row.ci95_high
        if pd.isna(low):
            interval = "n/a (n < 2)"
        else:
            interval = f"{_number(low)} to {_number(high)}" + (" (cut at bound)" if getattr(row, "ci_clipped", False) else "")
        label = "trust_final (all users)" if row.metric == "trust_final" else row.metric
        rows.append({"firm": row.firm, "metric": label, "unit": getattr(row, "unit", ""),
                     "n": f"{row.n} of {getattr(row, 'of', row.n)}", "mean": row.mean, "sd": row.std,
                     "95% interval": interval})  # fmt: skip
    return pd.DataFrame(rows)


def crossover_line(summary: pd.DataFrame, firms: pd.DataFrame | None) -> str:
    """The headline's crossover sentence: who overtook whom, on which day, in how many replications."""
    if firms is not None:
        text = crossover_text(run_crossovers(firms))
        return f"- {text[0].upper()}{text[1:]}."
    crossover = summary.groupby("replication")["crossover_day"].first()
    return (f"- Crossover day (final leader's lead begins): defined in {crossover.notna().sum()} of {len(crossover)} "
            f"replications; mean {_number(float(crossover.mean()))}.")  # fmt: skip


def overrides_note(scenario) -> list[str]:
    """The overrides a run applied to its file, first thing in the report (nothing without overrides)."""
    changes = scenario_changes(scenario)
    if not changes:
        return []
    return [
        f"**Not the file's world: this run changed {len(changes.items)} value(s) of `{changes.source}`** "
        "(`--set` or `overrides`); the description below is the file's.",
        "",
        *[f"- `{change.text()}`" for change in changes.items],
        "",
    ]


def write_report(path: Path, scenario, summary: pd.DataFrame, stats: pd.DataFrame, figures: dict, metadata: dict,
                 tables: dict | None = None, sections: Sequence[Callable[[dict], str]] = ()) -> Path:  # fmt: skip
    """Headline comparison, the summary statistics, the glossary, every figure and the published figures.

    ``tables``: the run's tables (`sim.runs.runner.combine`); their daily firm
    table names who overtook whom at the crossover, and all of them give the
    section against published figures.
    ``sections``: functions of the run's tables that return more markdown
    (e.g. `sim.validation.report_section`), passed in by the caller so that
    scenario runs do not depend on the packages built on them.
    """
    firms = tables["firms"] if tables is not None else None
    replications = summary["replication"].nunique()
    per_firm = stats[stats["firm"] != ALL_FIRMS]
    pair = stats[stats["firm"] == ALL_FIRMS]
    few = []
    if replications == 1:
        few = ["One replication: no intervals and no bands in the figures. Set `replications` (or `--replications`) "
               f"to at least {MIN_BAND_N} for intervals you can read.", ""]  # fmt: skip
    elif replications < MIN_BAND_N:
        few = [f"Only {replications} replications: the intervals are very wide (t = 12.7 with one degree of freedom) "
               f"and the figures draw no bands; use at least {MIN_BAND_N}.", ""]  # fmt: skip
    lines = [
        f"# {scenario.name}",
        "",
        *overrides_note(scenario),
        scenario.description.strip() or "(no description)",
        "",
        f"{scenario.width} x {scenario.height} users, {scenario.steps} days, "
        f"ranking: {scenario.ranking}, {replications} replication(s), seed {scenario.seed}.",
        "",
        *few,
        "## Headline",
        "",
        headline(lead(summary, "early_reach"), f"Early (mean daily reach, days 1-{EARLY_DAYS})"),
        headline(lead(summary, "late_reach"), f"Late (mean daily reach, last {LATE_DAYS} days)"),
        crossover_line(summary, firms),
        "",
        "## Summary across replications",
        "",
        "Per firm (definitions: see the glossary below):",
        "",
        markdown_table(stats_table(per_firm)),
        "",
    ]
    if len(pair):
        lines += ["For the market as a whole (one value per replication, not per firm):", "",
                  markdown_table(stats_table(pair)), ""]  # fmt: skip
    lines += [
        "## Figures",
        "",
    ]
    for key, figure in figures.items():
        rel = Path(figure).relative_to(path.parent)
        lines += [f"### {FIGURE_CAPTIONS.get(key, key)}", "", f"![{key}]({rel.as_posix()})", ""]
    if tables is not None:
        lines += [section(tables) for section in sections]
    lines += [
        "## Provenance",
        "",
        f"- git revision: `{metadata.get('git_revision')}`" + (" (uncommitted changes)" if metadata.get("git_dirty") else ""),
        f"- started (UTC): {metadata.get('started_utc')}; wall time {metadata.get('wall_time_seconds', 0):.1f} s",
        f"- packages: " + ", ".join(f"{k} {v}" for k, v in metadata.get("packages", {}).items() if v),
        "- the full configuration is in `config.yaml`; re-run it with `python run.py config.yaml`.",
        "",
        *glossary(),
    ]
    path.write_text("\n".join(lines))
    return path
