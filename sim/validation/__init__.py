"""Validation against published figures: facts as data, model quantities, verdicts.

`facts` reads and checks a facts file (the shipped `facts.yaml` or a user's
own), `quantities` computes each named model quantity from one
replication's tables, `verdict` sets the model's mean and 95% interval
against each fact's published range, and `section` writes the short
"against published figures" part of every scenario run's report. The
command `python run.py validate` lives in `sim.validation.cli`.

Stable interface (also used by calibration):

- ``load_facts(path=None) -> FactTable``
- ``compute_quantities(tables, names) -> dict[str, float]`` for one replication
- ``quantities_by_replication(tables, names) -> DataFrame`` (one row per replication)
- ``verdict(value, low, high, ci_low, ci_high) -> "inside" | "on the edge" | "below" | "above" | "unmeasured"``
  (the interval decides; "on the edge": it crosses an edge of the range; NaN: nothing to measure in the run)
- ``compare(facts, values) -> DataFrame`` (the validation.csv table)
"""

from sim.validation.facts import DEFAULT_FACTS, Fact, FactTable, load_facts
from sim.validation.quantities import QUANTITIES, compute_quantities, quantities_by_replication
from sim.validation.verdict import compare, ratio_to_bound, verdict


def report_section(tables, facts: FactTable | None = None) -> str:
    """Markdown: the run against every published figure (see `sim.validation.section`)."""
    from sim.validation.section import report_section as _section

    return _section(tables, facts)


__all__ = [
    "DEFAULT_FACTS",
    "QUANTITIES",
    "Fact",
    "FactTable",
    "compare",
    "compute_quantities",
    "load_facts",
    "quantities_by_replication",
    "ratio_to_bound",
    "report_section",
    "verdict",
]
