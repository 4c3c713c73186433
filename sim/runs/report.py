"""report.md: a short human-readable summary of a scenario run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sim.runs.statistics import Lead, lead

FIGURE_CAPTIONS = {
    "reach": "Daily reach per firm (mean, 95% band across replications)",
    "followers": "Followers per firm",
    "trust_fatigue": "Mean trust and fatigue of each firm's followers",
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


def write_report(
    path: Path, scenario, summary: pd.DataFrame, stats: pd.DataFrame, figures: dict, metadata: dict, tables=None
) -> Path:
    """Headline comparison, the summary statistics, every figure and (given the run's tables) published figures."""
    crossover = summary.groupby("replication")["crossover_day"].first()
    lines = [
        f"# {scenario.name}",
        "",
        scenario.description.strip() or "(no description)",
        "",
        f"{scenario.width} x {scenario.height} users, {scenario.steps} days, "
        f"ranking: {scenario.ranking}, {len(crossover)} replication(s), seed {scenario.seed}.",
        "",
        "## Headline",
        "",
        headline(lead(summary, "early_reach"), "Early (mean daily reach, days 1-30)"),
        headline(lead(summary, "late_reach"), "Late (mean daily reach, last 90 days)"),
        f"- Crossover day (final leader's lead begins): defined in {crossover.notna().sum()} of {len(crossover)} "
        f"replications; median {_number(float(crossover.median()))}.",
        "",
        "## Summary across replications",
        "",
        markdown_table(stats),
        "",
        "## Figures",
        "",
    ]
    for key, figure in figures.items():
        rel = Path(figure).relative_to(path.parent)
        lines += [f"### {FIGURE_CAPTIONS.get(key, key)}", "", f"![{key}]({rel.as_posix()})", ""]
    if tables is not None:
        from sim.validation import report_section

        lines += [report_section(tables)]
    lines += [
        "## Provenance",
        "",
        f"- git revision: `{metadata.get('git_revision')}`" + (" (uncommitted changes)" if metadata.get("git_dirty") else ""),
        f"- started (UTC): {metadata.get('started_utc')}; wall time {metadata.get('wall_time_seconds', 0):.1f} s",
        f"- packages: " + ", ".join(f"{k} {v}" for k, v in metadata.get("packages", {}).items() if v),
        "- the full configuration is in `config.yaml`; re-run it with `python run.py config.yaml`.",
        "",
    ]
    path.write_text("\n".join(lines))
    return path
