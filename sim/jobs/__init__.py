"""What the long jobs (sweep, calibrate, study) share: one layer under the three.

Each job checks a file, claims a results folder, runs on Dask, records its
sessions, resumes after a kill and rebuilds a report. The shared parts:

- `spec`: the job file's base: read it, resolve the base world, check a
  varied parameter, fingerprint the resolved job, say what differs.
- `folder`: the results folder: lock it, probe it, metadata.json, set
  damaged files aside, atomic writes.
- `models`: the model interface every job runs, (parameter values, seed) ->
  outputs, and the attention market behind it.
- `cluster`: the Dask client, a local cluster or ``--scheduler``.
- `progress`: the runs' progress bar or status lines.
- `options`: ``--workers``, ``--scheduler``, ``--wait-workers``, ``--out``,
  ``--force``, ``--quiet``.
- `command`: how a job command ends: one line and an exit status; the
  address-space check before the heavy imports.
- `errors`: `JobError` (each job's own error derives from it), `SchedulerLost`.

Imports run one way: `sim.sweep`, `sim.calibration` and `sim.study` import
from here, never the other way, and neither calibration nor study imports
another job's insides (a study runs through the sweep engine's public
functions: `run_sweep`, `SweepFolder`, `build_design`).
"""
