"""report.md of a validation run: the table, the figure and where the model stands."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd

from sim.runs.report import markdown_table, overrides_note
from sim.validation.section import counts_line, verdict_table
from sim.validation.verdict import ON_THE_EDGE


def _distance(ratio: float) -> float:
    """How far off, as a factor >= 1 (inside: 1)."""
    if ratio is None or math.isnan(ratio):
        return 0.0
    if not math.isfinite(ratio) or ratio <= 0:
        return math.inf
    return max(ratio, 1 / ratio)


def standing_paragraph(table: pd.DataFrame, facts) -> str:
    """A paragraph saying where the model stands against the published figures."""
    lines = [counts_line(table)]
    off = table.loc[table["verdict"].isin(["below", "above"])].copy()
    if not off.empty:
        off["distance"] = [_distance(r) for r in off["ratio_to_bound"]]
        off = off.sort_values("distance", ascending=False)
        worst = [
            f"{r.fact} ({r.verdict}, {r.model_mean:.3g} against {r.range_low:.3g}-{r.range_high:.3g}"
            + (f", {r.distance:.3g}x the nearest bound" if math.isfinite(r.distance) else "")
            + ")"
            for r in off.itertuples()
        ]
        lines.append("Farthest off first: " + "; ".join(worst) + ".")
        near = off.loc[off["ci_overlaps_range"]]
        if not near.empty:
            lines.append(
                "Within sampling error of the band (CI overlaps it): " + ", ".join(near["fact"]) + "."
            )
    inside = table.loc[table["verdict"] == "inside", "fact"].tolist()
    if inside:
        lines.append("Inside the published range: " + ", ".join(inside) + ".")
    edge = table.loc[table["verdict"] == ON_THE_EDGE, "fact"].tolist()
    if edge:
        lines.append("On the edge (the 95% interval crosses an edge of the range): " + ", ".join(edge) + ".")
    sensitive = [f.id for f in facts.facts if f.scale_sensitive]
    if sensitive:
        lines.append(
            "Scale-sensitive (their model value moves with width x height, and the platforms measured "
            "have millions of users): " + ", ".join(sensitive) + "."
        )
    return " ".join(lines)


def unmeasurable_sentence(facts, steps: int) -> str:
    """' Not measurable in this world: ...' for the facts a run of ``steps`` days is too short for; else ''."""
    from sim.validation.quantities import too_short

    short = too_short([f.quantity for f in facts.facts], steps)
    named = [f"{f.id} (needs {short[f.quantity]} days)" for f in facts.facts if f.quantity in short]
    return f" Not measurable in this world of {steps} days, so unmeasured: {', '.join(named)}." if named else ""


def write_validation_report(path: Path, scenario, table: pd.DataFrame, facts, figure: Path, metadata: dict) -> Path:
    """Headline, table, figure, per-fact sources and provenance."""
    rel = Path(figure).relative_to(path.parent).as_posix()
    lines = [
        f"# Validation: {scenario.name} against published figures",
        "",
        *overrides_note(scenario),
        f"{scenario.width} x {scenario.height} users, {scenario.steps} days, ranking: {scenario.ranking}, "
        f"{scenario.replications} replication(s), seed {scenario.seed}. Verdicts compare the mean over "
        "replications with each published range; the CI is the 95% t-interval over replications.",
        "",
        "## Where the model stands",
        "",
        standing_paragraph(table, facts) + unmeasurable_sentence(facts, scenario.steps),
        "",
        "## Table",
        "",
        markdown_table(verdict_table(table)),
        "",
        "`verdict`: where the 95% interval lies: inside the range, below or above it, or *on the edge* when it "
        "crosses an edge of the range. `ratio to bound`: model mean / the bound the mean misses (> 1 above, "
        "< 1 below, 1 inside).",
        "",
        "## Figure",
        "",
        f"![every fact against its published band]({rel})",
        "",
        "## Facts and sources",
        "",
    ]
    for fact in facts.facts:
        lines += [
            f"- **{fact.id}** ({fact.quantity}): {fact.description}. {fact.platform}, {fact.era}. "
            f"Source: {fact.citation()}." + (" Scale-sensitive." if fact.scale_sensitive else ""),
        ]
    lines += [
        "",
        "## Provenance",
        "",
        f"- git revision: `{metadata.get('git_revision')}`" + (" (uncommitted changes)" if metadata.get("git_dirty") else ""),
        f"- started (UTC): {metadata.get('started_utc')}; wall time {metadata.get('wall_time_seconds', 0):.1f} s",
        "- packages: " + ", ".join(f"{k} {v}" for k, v in metadata.get("packages", {}).items() if v),
        "- configuration in `config.yaml`, facts in `facts.yaml`, per-replication values in `quantities.csv`.",
        "",
    ]
    path.write_text("\n".join(lines))
    return path
