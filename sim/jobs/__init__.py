"""What the long jobs (sweep, calibrate, study) share: one layer under the three.

- `models`: the model interface every job runs, (parameter values, seed) ->
  outputs, and the attention market behind it.
- `cluster`: the Dask client, a local cluster or ``--scheduler``.

Imports run one way: `sim.sweep`, `sim.calibration` and `sim.study` import
from here, never the other way, and never from each other's insides.
"""
