"""Developer tooling, one home; not part of the installed package.

`browser` drives the demo page in Debian's Chromium with Playwright (tests,
benchmarks and scripts use it). It lives outside `sim/` so that the product
never imports Playwright. `scripts/` holds the teaching screenshots, the
Slurm demo and the mutation-testing runner; `mutation/` that runner's
configuration and scoring. (`benchmarks/` is to move here too.)
"""
