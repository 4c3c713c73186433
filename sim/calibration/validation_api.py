"""The seam to `sim.validation`: the facts table as bands, and the facts' model quantities of one run.

Calibration reads the facts (ids, ranges, sources) and computes their model
quantities only through these functions, so the validation package's
layout can change without touching the engine.
"""

from __future__ import annotations

from typing import Any

from sim.calibration.facts import Band, FactsError
from sim.scenario import ScenarioError

TABLES = ("firms", "platform", "cascades", "follow_events")


def facts_table(path: str | None, where: str = "") -> dict[str, Band]:
    """Fact id -> Band, from the shipped table (path None) or a user's facts file."""
    from sim.validation import load_facts

    try:
        table = load_facts(path)
    except ScenarioError as err:
        raise FactsError(f"{where}facts: {err}") from None
    return {
        f.id: Band(f.id, float(f.low), float(f.high), f.description, f.citation(), f.quantity)
        for f in table.facts
    }


def replication_tables(replication: Any) -> dict[str, Any]:
    """The tables of one `sim.runs.runner.Replication` that the quantities read."""
    return {name: getattr(replication, name) for name in TABLES}


def fact_values(replication: Any, bands: list[Band]) -> dict[str, float]:
    """Each fact's model quantity over one replication, by fact id."""
    from sim.validation import compute_quantities

    names = list(dict.fromkeys(b.quantity for b in bands))
    values = compute_quantities(replication_tables(replication), names)
    return {b.id: float(values[b.quantity]) for b in bands}
