"""Scenario runs: replications with derived seeds, and the results folder they leave.

`runner` runs replications in worker processes (seeds from SeedSequence, so
numbers do not depend on the worker count) and releases Mesa's global
references; `results` writes the folder atomically; `statistics` summarises
replications with confidence intervals; `figures` and `report` draw and
write; `provenance` records versions, git revision and times. `session` is
the step every entry point shares (replications plus their provenance),
`main_script` lets a plain script without a ``__main__`` guard start worker
processes, and `compile_notice` says once when the kernels must compile.
"""
