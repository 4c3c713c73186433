"""Scenario discovery: ``python run.py study``, the project's answer with its conditions.

A study file names a base world, a plausible region of parameters (uniform
bounds and choices, or a calibration's posterior), a design size and an
outcome. The runs go through the sweep engine (Dask, resumable parquet
store, failures recorded); the analysis turns them into the answer: the
share of the region each firm wins on late and early reach (with Wilson
intervals, contested points reported as such), PRIM boxes per winner, a
classification tree, a feature ranking and the mechanism inside each box.

- `spec`: the study file, validated into a `Study` (one-line errors).
- `posterior`: a calibration's weighted posterior sample.
- `model`: the study as a sweep model over the unit cube, with every
  per-run output the mechanism comparison needs.
- `outcomes`: replications averaged, winners and contested points, shares.
- `discovery`: PRIM, the tree, the feature ranking, the mechanism table.
- `figures`, `report`: plots and report.md; `cli`: the two commands.
"""
