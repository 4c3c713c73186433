"""The seam to `sim.validation`: the facts table as bands, and the facts' model quantities of one run.

Calibration reads the facts (ids, ranges, sources) and computes their model
quantities only through these functions, so the validation package's
layout can change without touching the engine.
"""

from __future__ import annotations

import difflib
from typing import Any

from sim.calibration.facts import Band, FactsError
from sim.scenario import ScenarioError

TABLES = ("firms", "platform", "cascades", "follow_events", "pages", "pages_weekly", "user_cascades", "events")


def facts_table(path: str | None, where: str = "") -> dict[str, Band]:
    """Fact id -> Band, from the shipped table (path None) or a user's facts file."""
    from sim.validation import load_facts

    try:
        table = load_facts(path)
    except ScenarioError as err:
        raise FactsError(f"{where}facts: {err}") from None
    return {
        f.id: Band(f.id, float(f.low), float(f.high), f.description, f.citation(), f.quantity, f.scale)
        for f in table.facts
    }


def quantity_names() -> list[str]:
    """Every model quantity a fact may name."""
    from sim.validation import QUANTITIES

    return list(QUANTITIES)


def days_needed(bands: list[Band], steps: int) -> dict[str, int]:
    """The facts (by id) a run of ``steps`` days cannot measure, with the days each needs."""
    from sim.validation.quantities import too_short

    short = too_short([b.quantity for b in bands], steps)
    return {b.id: short[b.quantity] for b in bands if b.quantity in short}


def replication_tables(replication: Any) -> dict[str, Any]:
    """The tables of one `sim.runs.runner.Replication` that the quantities read."""
    return {name: getattr(replication, name) for name in TABLES}


def fact_values(replication: Any, bands: list[Band]) -> dict[str, float]:
    """Each fact's model quantity over one replication, by fact id."""
    from sim.validation import compute_quantities

    names = list(dict.fromkeys(b.quantity for b in bands))
    values = compute_quantities(replication_tables(replication), names)
    return {b.id: float(values[b.quantity]) for b in bands}


def load_bands(facts: str, use_facts: list[str] | None, where: str = "") -> list[Band]:
    """The bands of the chosen facts from the shipped table ('default') or a facts file."""
    table = facts_table(None if facts == "default" else facts, where)
    known = list(table)
    wanted = list(use_facts) if use_facts is not None else known
    for fact_id in wanted:
        if fact_id not in table:
            close = difflib.get_close_matches(fact_id, known, n=1, cutoff=0.6)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise FactsError(f"{where}use_facts: unknown fact id {fact_id!r}{hint}; known: {', '.join(known)}")
    if len(set(wanted)) != len(wanted):
        raise FactsError(f"{where}use_facts: each fact once (got {wanted})")
    return [table[fact_id] for fact_id in wanted]
