"""The short "against published figures" section of every scenario run's report."""

from __future__ import annotations

import pandas as pd

from sim.runs.report import markdown_table
from sim.validation.facts import FactTable, load_facts
from sim.validation.quantities import quantities_by_replication
from sim.validation.verdict import ON_THE_EDGE, compare


def verdict_table(table: pd.DataFrame) -> pd.DataFrame:
    """The columns a reader needs: fact, model mean and CI, published range, verdict, ratio."""

    def interval(row) -> str:
        if pd.isna(row.ci_low):
            return "n/a"
        return f"{row.ci_low:.3g} to {row.ci_high:.3g}"

    return pd.DataFrame(
        {
            "fact": table["fact"],
            "model mean": table["model_mean"],
            "95% CI": [interval(r) for r in table.itertuples()],
            "published": [f"{lo:.3g} to {hi:.3g}" for lo, hi in zip(table["range_low"], table["range_high"])],
            "verdict": table["verdict"],
            "ratio to bound": [ratio_text(r) for r in table["ratio_to_bound"]],
        }
    )


def ratio_text(ratio: float) -> str:
    """The mean over the bound it misses, to 4 digits: 1.004, not a '1' that reads as inside."""
    if pd.isna(ratio):
        return "n/a"
    return "1 (inside)" if ratio == 1.0 else f"{ratio:.4g}"


def counts_line(table: pd.DataFrame) -> str:
    counts = table["verdict"].value_counts()
    parts = [f"{counts.get(v, 0)} {v}" for v in ("inside", ON_THE_EDGE, "below", "above") if counts.get(v, 0)]
    missing = counts.get("unmeasured", 0)
    text = f"Of {len(table)} published figures: " + ", ".join(parts or ["none measured"])
    return text + (f", {missing} not measurable in this run." if missing else ".")


def report_section(tables, facts: FactTable | None = None) -> str:
    """Markdown: each fact's model value against its published range, for a scenario run's report."""
    head = ["## Against published figures", ""]
    try:
        facts = facts or load_facts()
        table = compare(facts, quantities_by_replication(tables, facts.quantities()))
    except Exception as err:  # a report must not fail because a comparison cannot be computed
        return "\n".join(head + [f"Not computed: {type(err).__name__}: {err}", ""])
    return "\n".join(
        head
        + [
            "The run's model quantities (mean over replications, with its 95% interval) against published ranges "
            "from `sim/validation/facts.yaml` (sources and mappings in docs/validation.md). A fact whose interval "
            "crosses an edge of its range is *on the edge*: the run cannot tell inside from outside. "
            "`python run.py validate` repeats this with a figure.",
            "",
            markdown_table(verdict_table(table)),
            "",
            counts_line(table),
            "",
        ]
    )
