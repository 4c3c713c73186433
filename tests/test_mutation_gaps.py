"""Tests that kill mutants the mutation run found alive (docs/testing.md, "Mutation testing").

Each test asserts real behaviour through public state or a module's public
function on a tiny world, like tests/test_wiring.py; the docstring names the
mutant(s) it was written against.
"""

from __future__ import annotations
