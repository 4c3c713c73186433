"""Parameter sweeps and global sensitivity analysis, run on Dask.

The flow, one module per step:

- `spec`: the sweep file (YAML), validated into a `Sweep` against the
  model's parameter ranges; its fingerprint guards a results folder.
- `sim.jobs.models` (shared with calibration and studies): model
  functions, (parameter values, seed) -> outputs. The attention market is
  one; SALib's Ishigami function is another, with a known answer, so the
  engine can be tested on it. The engine knows nothing of a model's insides.
- `design`: the points to run (SALib's Sobol' and Morris samplers, Latin
  hypercube, or a full grid).
- `tasks`: runs as pure tasks: seeds from SeedSequence, run ids, one row each.
- `store`: parquet parts written atomically; resume and retry read them.
- `execute`: a local or remote Dask cluster runs the tasks, with progress,
  failures and dead workers recorded.
- `analysis`, `figures`, `report`: indices, replication noise, plots, report.md.
- `cli`: ``python run.py sweep ...`` and ``python run.py sweep-report ...``.
- `sweep_results`: what ``sim.run_sweep`` (the Python entry, in `sim.api`)
  returns: the folder, the run counts, the runs and the analysed tables.
"""

from sim.sweep.spec import Sweep, SweepError

__all__ = ["Sweep", "SweepError"]
